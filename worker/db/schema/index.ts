export * from "./accounts";
export * from "./audit";
export * from "./generations";
export * from "./ledger";
