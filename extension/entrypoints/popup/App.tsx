export function App() {
  return (
    <main>
      <h1>MyBA</h1>
      <p>Open a create form in Jira, GitLab or Linear and press “Generate ticket”.</p>
    </main>
  );
}
