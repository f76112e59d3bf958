export * from "./accounts";
export * from "./generations";
export * from "./ledger";
