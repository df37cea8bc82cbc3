import { expect, hasJavaScript, open, test } from "./support";

// A record's page opens with why it is or is not synchronizing.

test("a record's page says why it is not synchronizing, and offers Retry", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=failed&mapping=CUSTOMER&search=takes%20at%20most%20160");
  // Each run takes its own record: the last row with WebAssembly, the one before without.
  const rows = page.locator("table.errors tbody tr");
  const row = rows.nth((await rows.count()) - (hasJavaScript(testInfo) ? 1 : 2));
  const key = (await row.getByRole("link").first().textContent()) ?? "";
  await open(page, testInfo, `/records/CUSTOMER/local/${key}`);
  const status = page.locator("section.status");
  await expect(status.getByRole("heading")).toContainText(/Status: (Failing|Skipped)/);
  await expect(status).toContainText("takes at most 160");
  await status.getByRole("button", { name: "Retry" }).click();
  if (hasJavaScript(testInfo)) {
    await expect(page.getByRole("status").filter({ hasText: `CUSTOMER ${key}:` })).toBeVisible();
  }
  // Still too long: the retry failed again, and the page says so.
  await expect(page).toHaveURL(new RegExp(`/records/CUSTOMER/local/${key}$`));
  await expect(page.locator("section.status")).toContainText("takes at most 160");
});

test("an in-sync record's page names its partner and keeps its log", async ({ page }, testInfo) => {
  // A record in sync now, from the list of them (other specs uncouple and change some).
  await open(page, testInfo, "/mappings/CUSTOMER/records?status=in_sync");
  const first = page.locator("table.records tbody tr").first().getByRole("link");
  await open(page, testInfo, (await first.getAttribute("href")) ?? "");
  const status = page.locator("section.status");
  await expect(status.getByRole("heading")).toContainText("Status: In sync");
  await expect(status).toContainText("Coupled with the integration record");
  await expect(page.locator("table.log tbody tr").first()).toBeVisible();
  // The partner's page, one link away, says the same from the other side.
  await status.getByRole("link").first().click();
  await expect(page.locator("section.status").getByRole("heading")).toContainText("Status: In sync");
});

test("a key on neither side is a status, and a wrong side is refused by name", async ({ page }, testInfo) => {
  await open(page, testInfo, "/records/CUSTOMER/local/NO-SUCH-KEY");
  await expect(page.locator("section.status").getByRole("heading")).toContainText("Status: Not found");
  await page.goto("/records/CUSTOMER/sideways/C000001");
  await expect(page.getByRole("alert").first()).toContainText("not a side");
});

test("the finder in the header leads from a key to the record's status", async ({ page }, testInfo) => {
  await open(page, testInfo, "/");
  const finder = page.getByRole("searchbox", { name: "Find a record", exact: true });
  await finder.fill("I0002");
  await finder.press("Enter");
  await expect(page).toHaveURL(/\/find\?text=I0002$/);
  await page.getByRole("link", { name: "ITEM-PRODUCT local record I0002" }).click();
  await expect(page.locator("section.status").getByRole("heading")).toContainText("Status:");
  await expect(page.locator("p.record")).toContainText("local record I0002");
});
