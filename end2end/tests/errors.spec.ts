import { expect, open, test } from "./support";

// The test command synchronizes the demo, lets people edit both systems, and
// synchronizes again: there are conflicts, deletions and failures to see.

test("the errors page lists the open errors in plain words", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors");
  await expect(page).toHaveTitle("Coupled Data Synchronization Errors · Coupler");
  const rows = page.locator("table.errors tbody tr");
  await expect(rows.first()).toBeVisible();
  await expect(page.getByText(/open errors?$/)).toBeVisible();
  await expect(page.locator("table.errors")).toContainText("Update conflict");
  await expect(page.locator("table.errors")).toContainText("Both records changed since the last synchronization");
  await expect(page.locator("table.errors")).toContainText("takes at most 160");
  await page.screenshot({ path: testInfo.outputPath("errors.png"), fullPage: true });
});

test("a filter is a link, and the form sets it", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=failed");
  const kinds = page.locator("table.errors tbody tr td:nth-child(4)");
  await expect(kinds.first()).toBeVisible();
  for (const text of await kinds.allTextContents()) expect(text).toContain("Failed");

  await page.getByLabel("Kind").selectOption("update_conflict");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/kind=update_conflict/);
  await expect(kinds.first()).toContainText("Update conflict");
  for (const text of await kinds.allTextContents()) expect(text).toContain("Update conflict");
});

test("an unknown kind in the address is refused in plain words", async ({ page }) => {
  const response = await page.goto("/errors?kind=broken");
  expect(response?.status()).toBe(400);
  await expect(page.getByRole("alert")).toContainText('"broken" is not a kind');
});

test("a record's synchronization log opens from the errors page and from a cold link", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=update_conflict");
  const link = page.locator("table.errors tbody tr").first().getByRole("link").first();
  const key = (await link.textContent()) ?? "";
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/records/CUSTOMER/local/${key}/log$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Synchronization Log");
  await expect(page.locator("table.log")).toContainText("conflict");
  await expect(page.locator("table.log")).toContainText('city: local "Lisbon", integration "Reykjavik"');
  expect(await page.locator("table.log tbody tr").count()).toBeGreaterThan(1);
  const address = page.url();

  // A colleague opens the same link cold.
  const fresh = await page.context().newPage();
  await fresh.goto(address);
  await expect(fresh.getByText(`Mapping CUSTOMER, local record ${key}`)).toBeVisible();
  await expect(fresh.locator("table.log tbody tr").first()).toBeVisible();
  await fresh.close();
});

test("the jobs page lists the jobs with their counters", async ({ page }, testInfo) => {
  await open(page, testInfo, "/jobs");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Integration Synchronization Jobs");
  const table = page.locator("table.jobs");
  await expect(table).toContainText("CUSTOMER");
  await expect(table).toContainText("synchronization");
  await expect(table).toContainText("succeeded");
  await expect(table).toContainText(/inserted \d+/);
});
