// Entry point: one controller for the page, rendered with Preact.
import { render } from "preact";
import { BrowserAlarm } from "./alarm";
import { DashboardController } from "./controller";
import "./styles.css";
import { App } from "./views/App";

const alarm = new BrowserAlarm();
const controller = new DashboardController({
  storage: window.sessionStorage,
  prefsStorage: window.localStorage,
  alarm,
});
// Read by the browser tests: whether the alarm sounded (they cannot hear it).
(window as unknown as { sstAlarm: BrowserAlarm }).sstAlarm = alarm;
render(<App controller={controller} />, document.getElementById("app")!);
void controller.start();
