export * from "./accounts";
export * from "./audit";
export * from "./auth";
export * from "./billing";
export * from "./generations";
export * from "./ledger";
export * from "./pricing";
export * from "./rate-limits";
