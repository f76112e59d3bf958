/** A labelled native select: keyboard and screen readers get the platform's own behaviour. */
export function SelectField<T extends string>({
  id,
  label,
  testId,
  value,
  options,
  onChange,
}: {
  id: string;
  label: string;
  testId: string;
  value: T;
  options: { value: NoInfer<T>; label: string }[];
  onChange(value: NoInfer<T>): void;
}) {
  return (
    <div className="myba-field">
      <label className="myba-label" htmlFor={id}>
        {label}
      </label>
      <select
        id={id}
        className="myba-select"
        data-testid={testId}
        value={value}
        onChange={(e) => onChange(e.target.value as T)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}
