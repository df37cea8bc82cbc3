import { type Browser, type Page } from "@playwright/test";
import { expect, hasJavaScript, open, signIn, test } from "./support";

// Roles: a viewer reads and finds no way to act (and the server refuses one anyway); an
// operator fixes an error, and the audit page shows who did it.

const rows = "table.errors tbody tr";

/** A fresh browser of nobody signed in, with this project's JavaScript setting. */
async function signedOut(browser: Browser, javaScript: boolean): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] }, javaScriptEnabled: javaScript });
  return context.newPage();
}

test("a signed-out visitor is sent to sign in, and back to the page asked for", async ({ browser }, testInfo) => {
  const page = await signedOut(browser, hasJavaScript(testInfo));
  await page.goto("/errors?kind=failed");
  await expect(page).toHaveURL(/\/login\?next=%2Ferrors%3Fkind%3Dfailed$/);
  await page.getByLabel("Name").fill("e2e-viewer");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("wrong name or password");
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, "e2e-viewer", "/errors?kind=failed");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Coupled Data Synchronization Errors");
  await page.context().close();
});

test("a viewer reads the errors but finds no fixes, and a forced one is refused", async ({ browser }, testInfo) => {
  const page = await signedOut(browser, hasJavaScript(testInfo));
  await signIn(page, "e2e-viewer", "/errors");
  await expect(page.locator(".me")).toContainText("e2e-viewer (viewer)");
  await expect(page.locator(rows).first()).toBeVisible();
  await expect(page.getByText("fixing them needs the operator role")).toBeVisible();
  for (const name of ["Retry", "Retry All", "Remove Coupling", "Use local", "Restore Records"]) {
    await expect(page.getByRole("button", { name: new RegExp(`^${name}`) })).toHaveCount(0);
  }
  await page.locator(rows).first().getByRole("link", { name: /^Details of/ }).click();
  await expect(page.getByRole("heading", { name: "What happened" })).toBeVisible();
  await expect(page.getByRole("toolbar", { name: "Fixes" })).toHaveCount(0);
  await open(page, testInfo, "/mappings/CUSTOMER");
  await expect(page.getByRole("button", { name: "Full synchronization" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Save settings" })).toHaveCount(0);

  // Sent anyway, from the console's own origin with the viewer's session: refused.
  const origin = new URL(page.url()).origin;
  const forced = await page.request.post("/api/act_on_sync_errors", {
    form: { action: "retry_all", view: "forced" },
    headers: { origin, accept: "application/json" },
  });
  expect(forced.status()).toBe(403);
  expect(await forced.json()).toEqual({ Forbidden: "this needs the operator role, and e2e-viewer is viewer" });
  await page.context().close();
});

test("an operator fixes an error, and the audit page shows it", async ({ browser }, testInfo) => {
  const page = await signedOut(browser, hasJavaScript(testInfo));
  await signIn(page, "e2e-operator", "/errors?kind=deleted_local&mapping=CONTACT");
  const key = (await page.locator(rows).first().getByRole("link").first().textContent()) ?? "";
  expect(key).not.toBe("");
  await page.locator(rows).first().getByRole("button", { name: `Remove Coupling ${key}` }).click();
  await expect(page.locator(`tr:has(a:text-is("${key}"))`)).toHaveCount(0);
  await open(page, testInfo, "/audit?actor=e2e-operator");
  const entry = page.locator("table.audit tbody tr").filter({ hasText: "remove_coupling" }).first();
  await expect(entry).toContainText("e2e-operator");
  await expect(entry).toContainText(key);
  await expect(entry).toContainText("1 done");
  // An operator does not manage accounts.
  await page.goto("/users");
  await expect(page.getByRole("alert")).toContainText("this needs the admin role");
  await page.screenshot({ path: testInfo.outputPath("audit.png"), fullPage: true });
  await page.context().close();
});

test("a sign-in link cannot send anyone to another site", async ({ browser }, testInfo) => {
  const origin = new URL(process.env.COUPLER_URL ?? "http://127.0.0.1:3000").origin;
  for (const next of ["%2F%09%2Fother.example%2F", "%2F%5C%2Fother.example", "%2F%2Fother.example", "https%3A%2F%2Fother.example"]) {
    const page = await signedOut(browser, hasJavaScript(testInfo));
    await page.goto(`/login?next=${next}`);
    await page.getByLabel("Name").fill("e2e-viewer");
    await page.getByLabel("Password").fill(process.env.COUPLER_E2E_PASSWORD ?? "");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${origin}/`);
    await page.context().close();
  }
});
