import { expect, open, test } from "./support";

// A mapping's health and its records counted by state, on the overview, the mappings
// list and the mapping's page; each count opens the list of those records.

test("the overview tells a mapping's health with its problems", async ({ page }, testInfo) => {
  await open(page, testInfo, "/");
  const customer = page.locator('li.card[data-mapping="CUSTOMER"]');
  // The test command's demo found its errors within the hour, and none the day before.
  await expect(customer.locator(".badge.problem")).toContainText(/\d+ problems?/);
  await expect(customer.locator("ul.problems li.problem-errors_growing")).toContainText(
    /\d+ new errors in the last 12 hours, against 0 in the 12 before/,
  );
  await expect(customer.locator("ul.health-counts")).toContainText(/In sync \d+/);
  // The names too long for the CRM failed twice by the time the console opened: skipped.
  await expect(customer.locator("ul.health-counts")).toContainText(/Skipped \d+/);

  await open(page, testInfo, "/mappings");
  await expect(page.getByRole("row", { name: /CUSTOMER/ }).locator(".badge.problem")).toBeVisible();
});

test("a health count opens its records, each with its status, a page at a time", async ({ page }, testInfo) => {
  await open(page, testInfo, "/mappings/CUSTOMER");
  const counts = page.getByRole("list", { name: "Records by state" });
  await counts.getByRole("link", { name: /^In sync \d+/ }).click();
  await expect(page).toHaveURL(/\/mappings\/CUSTOMER\/records\?status=in_sync$/);
  await expect(page.getByRole("heading", { level: 2 })).toHaveText("In sync: page 1");
  const rows = page.locator("table.records tbody tr");
  await expect(rows).toHaveCount(25);
  await expect(rows.first().locator(".badge")).toHaveText("In sync");
  await expect(rows.first()).toContainText("both are as at the last synchronization");
  await page.getByRole("link", { name: "Next page" }).click();
  await expect(page.getByRole("heading", { level: 2 })).toHaveText("In sync: page 2");

  // Another state from the tabs; a row leads to the record's own page.
  await page.getByRole("navigation", { name: "States" }).getByRole("link", { name: "Skipped" }).click();
  await expect(page).toHaveURL(/status=skipped$/);
  const skipped = page.locator("table.records tbody tr", { hasText: "takes at most 160" }).first();
  await expect(skipped.locator(".badge")).toHaveText(/Skipped|Failing/);
  await skipped.getByRole("link").first().click();
  await expect(page.locator("section.status").getByRole("heading")).toContainText(/Status: (Failing|Skipped)/);
  await expect(page.locator("div.records-side-by-side section")).toHaveCount(2);
});

test("an unknown state is refused by name", async ({ page }) => {
  const response = await page.goto("/mappings/CUSTOMER/records?status=sleepy");
  expect(response?.status()).toBe(400);
  await expect(page.getByRole("alert").first()).toContainText("sleepy");
});
