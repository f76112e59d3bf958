import { useCallback, useEffect, useState } from "react";
import type { Generation } from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { sendMessage } from "@/lib/messaging";
import { errorText, formatDate, Notice, useAction } from "./ui";

function download(filename: string, content: string, type: string) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function HistoryView() {
  const [items, setItems] = useState<Generation[] | null>(null);
  const [cursor, setCursor] = useState<string | undefined>();
  const [open, setOpen] = useState<string | null>(null);
  const { message, setMessage, run } = useAction();

  const load = useCallback(
    async (after?: string) => {
      try {
        const page = await sendMessage("listGenerations", after ? { cursor: after } : {});
        setItems((prev) => [...(after ? (prev ?? []) : []), ...page.items]);
        setCursor(page.nextCursor);
      } catch (err) {
        setItems((prev) => prev ?? []);
        setMessage({ tone: "error", text: errorText(err) });
      }
    },
    [setMessage],
  );

  useEffect(() => {
    void load();
  }, [load]);

  const exportAs = (g: Generation, format: "md" | "json") =>
    run("export", async () => {
      const file = await sendMessage("exportGeneration", { id: g.id, format });
      download(file.filename, file.content, format === "md" ? "text/markdown" : "application/json");
      return `Saved ${file.filename}.`;
    });

  return (
    <section className="view" aria-labelledby="history-title">
      <h2 id="history-title">Recent tickets</h2>
      <Notice message={message} />
      {items === null && <p className="muted">Loading…</p>}
      {items?.length === 0 && (
        <p className="muted">No tickets yet. Open a create form and press “Generate ticket”.</p>
      )}
      <ul className="history" data-testid="myba-history">
        {items?.map((g) => (
          <li key={g.id} data-testid="myba-history-item">
            <strong className="history-title">{g.title || g.prompt.slice(0, 80)}</strong>
            <div className="muted">
              {formatDate(g.createdAt)} · {g.site} · {g.feature} · {tokenCount(g.charged)}
              {g.status !== "completed" && g.status !== "done" ? ` · ${g.status}` : ""}
            </div>
            {open === g.id && (
              <div data-testid="myba-history-full">
                {g.prompt && <p className="muted">“{g.prompt}”</p>}
                <pre className="ticket-body">{g.description}</pre>
              </div>
            )}
            <div className="row">
              <button
                type="button"
                className="button small"
                aria-expanded={open === g.id}
                data-testid="myba-history-show"
                onClick={() => setOpen(open === g.id ? null : g.id)}
              >
                {open === g.id ? "Hide" : "Show"}
              </button>
              <button
                type="button"
                className="button small"
                data-testid="myba-history-insert"
                onClick={() =>
                  void run("insert", async () => {
                    const r = await sendMessage("reinsert", { id: g.id });
                    if (!r.ok) throw new Error(r.message ?? "Could not insert.");
                    return "Inserted into the form in this tab.";
                  })
                }
              >
                Insert
              </button>
              <button
                type="button"
                className="button small"
                data-testid="myba-history-copy"
                onClick={() =>
                  void run("copy", async () => {
                    await navigator.clipboard.writeText(`${g.title}\n\n${g.description}`.trim());
                    return "Copied.";
                  })
                }
              >
                Copy
              </button>
              <button
                type="button"
                className="button small"
                data-testid="myba-history-md"
                onClick={() => void exportAs(g, "md")}
              >
                Markdown
              </button>
              <button
                type="button"
                className="button small"
                data-testid="myba-history-json"
                onClick={() => void exportAs(g, "json")}
              >
                JSON
              </button>
            </div>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" className="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
