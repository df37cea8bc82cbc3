import { expect, type Page, type TestInfo } from "@playwright/test";

/** Whether this run has JavaScript (and so the WebAssembly). */
export function hasJavaScript(testInfo: TestInfo): boolean {
  return testInfo.project.name !== "no-js";
}

/** Opens `path`; with JavaScript, waits until the WebAssembly has hydrated the page. */
export async function open(page: Page, testInfo: TestInfo, path: string) {
  const response = await page.goto(path);
  expect(response?.status(), `status of ${path}`).toBeLessThan(400);
  if (hasJavaScript(testInfo)) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  }
}
