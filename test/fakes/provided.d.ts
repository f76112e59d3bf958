// What test/fakes/global-setup.ts provides to tests: each fake's base URL by name.
declare module "vitest" {
  export interface ProvidedContext {
    fakes: Record<string, string>;
  }
}

export {};
