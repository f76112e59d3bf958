import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Onboarding } from "./Onboarding";
import "../popup/style.css";
import "./style.css";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <Onboarding />
    </StrictMode>,
  );
}
