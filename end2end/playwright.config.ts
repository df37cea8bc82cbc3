import { defineConfig } from "@playwright/test";

// The server is started by scripts/test.sh (or by hand) and named by COUPLER_URL.
const baseURL = process.env.COUPLER_URL ?? "http://127.0.0.1:3000";

// Debian's Chromium: Playwright's own browser download is not available everywhere.
const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

export default defineConfig({
  testDir: "./tests",
  outputDir: "./test-results",
  // The specs share one server and its store: run them one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  timeout: 30_000,
  use: { baseURL, launchOptions, trace: "retain-on-failure" },
  // Every spec runs twice, signed in as the admin: with the WebAssembly, and with
  // JavaScript disabled, where pages are server-rendered and forms post.
  projects: [
    { name: "setup", testMatch: /sign-in\.setup\.ts/ },
    {
      name: "wasm",
      dependencies: ["setup"],
      use: { javaScriptEnabled: true, storageState: ".auth/admin.json" },
    },
    {
      name: "no-js",
      dependencies: ["setup"],
      use: { javaScriptEnabled: false, storageState: ".auth/admin.json" },
    },
  ],
});
