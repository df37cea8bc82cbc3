import { expect, hasJavaScript, open, test } from "./support";

test("the overview is rendered by the server with the demo's mappings", async ({ page }, testInfo) => {
  await open(page, testInfo, "/");
  await expect(page).toHaveTitle("Overview · Coupler");
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  for (const name of ["CUSTOMER", "CONTACT", "ITEM-PRODUCT"]) {
    await expect(page.getByRole("link", { name, exact: true })).toBeVisible();
  }
});

test("the navigation reaches every page, and unbuilt pages say so", async ({ page }, testInfo) => {
  await open(page, testInfo, "/");
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Synchronization Errors" }).click();
  await expect(page).toHaveURL(/\/errors$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Coupled Data Synchronization Errors");

  await nav.getByRole("link", { name: "Audit" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole("status")).toContainText("This page is not built yet");

  await nav.getByRole("link", { name: "Table Mappings" }).click();
  await expect(page).toHaveURL(/\/mappings$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Integration Table Mappings");
  await expect(page.getByRole("row", { name: /CUSTOMER/ })).toBeVisible();
});

test("a mapping's page lists its field mappings", async ({ page }, testInfo) => {
  await open(page, testInfo, "/mappings/CUSTOMER");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Integration Table Mapping CUSTOMER");
  const name = page.getByRole("row", { name: /^name/ });
  await expect(name).toContainText("at most 160 characters");
  await expect(page.getByRole("row", { name: /credit_limit/ })).toContainText("to_integration");
});

test("an unknown mapping answers not found", async ({ page }) => {
  const response = await page.goto("/mappings/NO-SUCH-MAPPING");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Mapping not found");
  await expect(page.getByRole("alert")).toContainText('no mapping is named "NO-SUCH-MAPPING"');
  expect(response?.status()).toBe(404);
});

test("typing in the filter narrows the mappings at once (WebAssembly)", async ({ page }, testInfo) => {
  test.skip(!hasJavaScript(testInfo), "the filter narrows as you type only once hydrated");
  await open(page, testInfo, "/mappings");
  const rows = page.locator("tbody tr");
  await expect(rows.filter({ visible: true })).toHaveCount(3);
  await page.getByRole("searchbox", { name: "Filter" }).fill("acc");
  await expect(page.locator('tr[data-mapping="CUSTOMER"]')).toBeVisible();
  await expect(page.locator('tr[data-mapping="CONTACT"]')).toBeHidden();
  await expect(page.locator('tr[data-mapping="ITEM-PRODUCT"]')).toBeHidden();
  await page.getByRole("searchbox", { name: "Filter" }).fill("");
  await expect(rows.filter({ visible: true })).toHaveCount(3);
});

test("pausing and resuming a mapping is a form post that persists", async ({ page }, testInfo) => {
  await open(page, testInfo, "/mappings");
  const row = page.locator('tr[data-mapping="CONTACT"]');
  await expect(row).toContainText("Active");
  await row.getByRole("button", { name: "Pause CONTACT" }).click();
  await expect(row).toContainText("Paused");
  await expect(row.getByRole("button", { name: "Resume CONTACT" })).toBeVisible();

  // The state lives in the store: a fresh load shows it.
  await open(page, testInfo, "/mappings");
  await expect(page.locator('tr[data-mapping="CONTACT"]')).toContainText("Paused");

  await page.locator('tr[data-mapping="CONTACT"]').getByRole("button", { name: "Resume CONTACT" }).click();
  await expect(page.locator('tr[data-mapping="CONTACT"]')).toContainText("Active");
  await page.screenshot({ path: testInfo.outputPath("mappings.png"), fullPage: true });
});
