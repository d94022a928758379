/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Where the API's grpc-web is, when not on the page's own origin (a Vite dev server). */
  readonly VITE_AIOPS_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
