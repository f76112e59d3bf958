/**
 * The FingerprintJS visitor id that keys anonymous sessions (issue #5). It
 * needs a DOM, so the popup or the panel computes it and hands it to the
 * background, which stores it; the library loads only when that happens.
 */
export async function computeVisitorId(): Promise<string> {
  const FingerprintJS = await import("@fingerprintjs/fingerprintjs");
  // monitoring: false, or 0.1 % of loads phone the vendor (docs/toolchain.md).
  const agent = await FingerprintJS.load({ monitoring: false });
  const { visitorId } = await agent.get();
  return visitorId;
}
