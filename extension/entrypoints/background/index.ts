export default defineBackground(() => {
  // Owns the session and every API call (ARCHITECTURE.md); filled in by #5 and #7.
});
