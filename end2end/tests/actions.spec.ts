import { expect, hasJavaScript, open, test } from "./support";

// Each spec runs twice (with WebAssembly, then without JavaScript) against one server;
// the test command's demo has two of each kind of error, one for each run.

test("Use local resolves a conflict, and the record's log says so", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=update_conflict");
  const row = page.locator("table.errors tbody tr").first();
  const key = (await row.getByRole("link").first().textContent()) ?? "";
  await row.getByRole("button", { name: `Use local ${key}` }).click();
  if (hasJavaScript(testInfo)) {
    await expect(page.getByRole("status").filter({ hasText: "resolve: 1 done" })).toBeVisible();
  }
  await expect(page.locator("table.errors, p.empty").first()).toBeVisible();
  await expect(page.locator(`tr:has(a:text-is("${key}"))`)).toHaveCount(0);
  await open(page, testInfo, `/records/CUSTOMER/local/${key}/log`);
  await expect(page.locator("table.log tbody tr").first()).toContainText("resolved");
  await expect(page.locator("table.log tbody tr").first()).toContainText("conflict resolved with the local data");
});

test("Restore Records recreates a deleted record", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=deleted_integration&mapping=CUSTOMER");
  const row = page.locator("table.errors tbody tr").first();
  const key = (await row.getByRole("link").first().textContent()) ?? "";
  await row.getByRole("button", { name: `Restore Records ${key}` }).click();
  await expect(page.locator(`tr:has(a:text-is("${key}"))`)).toHaveCount(0);
  await open(page, testInfo, `/records/CUSTOMER/local/${key}/log`);
  await expect(page.locator("table.log tbody tr").first()).toContainText("restored");
});

test("a fix on a stale view is refused with who handled it and when", async ({ browser }, testInfo) => {
  test.skip(!hasJavaScript(testInfo), "the answer is shown in place once hydrated");
  const alice = await browser.newPage();
  const bob = await browser.newPage();
  for (const page of [alice, bob]) await open(page, testInfo, "/errors?kind=failed");
  const first = (page: typeof alice) => page.locator("table.errors tbody tr").first();
  const key = (await first(alice).getByRole("link").first().textContent()) ?? "";
  await first(alice).getByRole("button", { name: `Retry ${key}` }).click();
  await expect(alice.getByRole("status").filter({ hasText: "retry: 0 done" })).toBeVisible();
  await first(bob).getByRole("button", { name: `Retry ${key}` }).click();
  const answer = bob.getByRole("status").filter({ hasText: "already handled by someone else" });
  await expect(answer).toBeVisible();
  await expect(answer).toContainText(/already handled by console at \d{4}-\d\d-\d\d/);
  await bob.screenshot({ path: testInfo.outputPath("stale.png"), fullPage: true });
  await alice.close();
  await bob.close();
});
