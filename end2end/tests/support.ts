import { expect, test as base, type Page, type TestInfo } from "@playwright/test";

/**
 * Playwright's `test`, failing any test whose page logged a JavaScript error or a
 * browser console error (a failed hydration shows up here). The page's own 4xx answer,
 * which a test asks for on purpose, is not an error.
 */
export const test = base.extend<{ browserErrors: string[] }>({
  browserErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => {
        const text = message.text();
        // The page itself answering 4xx (a test asking for a missing or refused thing on
        // purpose) is the answer under test, not a console error.
        const documentStatus = text.startsWith("Failed to load resource") && message.location().url === page.url();
        if (message.type() === "error" && !documentStatus) errors.push(text);
      });
      await use(errors);
      expect(errors, "errors in the browser console").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

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

/** The password of the test command's accounts e2e-viewer, e2e-operator and e2e-admin. */
export const password = process.env.COUPLER_E2E_PASSWORD ?? "";

/** Signs in on the sign-in page as `name`, asking to go to `next` afterwards. */
export async function signIn(page: Page, name: string, next: string) {
  expect(password, "COUPLER_E2E_PASSWORD names the test accounts' password").not.toBe("");
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`${next.replace(/[?]/g, "\\?")}$`));
}
