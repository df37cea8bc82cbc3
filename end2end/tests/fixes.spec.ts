import { type Page } from "@playwright/test";
import { expect, hasJavaScript, open, test } from "./support";

// Each spec runs twice (with WebAssembly, then without JavaScript) against one server;
// the test command's demo has enough of each kind of error for both runs.

const rows = "table.errors tbody tr";

async function firstKey(page: Page): Promise<string> {
  return (await page.locator(rows).first().getByRole("link").first().textContent()) ?? "";
}

test("Use local resolves a conflict, and the record's log says so", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=update_conflict");
  const key = await firstKey(page);
  await page.locator(rows).first().getByRole("button", { name: `Use local ${key}` }).click();
  if (hasJavaScript(testInfo)) {
    await expect(page.getByRole("status").filter({ hasText: "resolve: 1 done" })).toBeVisible();
  }
  await expect(page.locator(`tr:has(a:text-is("${key}"))`)).toHaveCount(0);
  await open(page, testInfo, `/records/CUSTOMER/local/${key}/log`);
  await expect(page.locator("table.log tbody tr").first()).toContainText("resolved");
  await expect(page.locator("table.log tbody tr").first()).toContainText("conflict resolved with the local data");
});

test("a conflict resolved field by field on the error's page", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=update_conflict");
  const key = await firstKey(page);
  await page.locator(rows).first().getByRole("link", { name: `Details of ${key}` }).click();
  const city = page.locator("table.compare tbody tr").filter({ hasText: "city" });
  await city.getByLabel("integration").check();
  await page.getByRole("button", { name: "Synchronize with these choices" }).click();
  await expect(page.getByRole("status").filter({ hasText: /Resolved by e2e-admin|resolve: 1 done/ }).first()).toBeVisible();
  await open(page, testInfo, `/records/CUSTOMER/local/${key}/log`);
  const entry = page.locator("table.log tbody tr").first();
  await expect(entry).toContainText("conflict resolved field by field");
  // The integration side's city won: the local record took it.
  await expect(entry).toContainText("Reykjavik");
});

test("Restore Records recreates a deleted record", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=deleted_integration&mapping=CUSTOMER");
  const key = await firstKey(page);
  await page.locator(rows).first().getByRole("button", { name: `Restore Records ${key}` }).click();
  await expect(page.locator(`tr:has(a:text-is("${key}"))`)).toHaveCount(0);
  await open(page, testInfo, `/records/CUSTOMER/local/${key}/log`);
  await expect(page.locator("table.log tbody tr").first()).toContainText("restored");
});

test("selected rows: Delete Records acts on each and answers per record", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=deleted_local&mapping=CUSTOMER");
  const picked = page.locator(rows).locator('input[type="checkbox"]');
  const keys = [await page.locator(rows).nth(0).getByRole("link").first().textContent(), await page.locator(rows).nth(1).getByRole("link").first().textContent()];
  await picked.nth(0).check();
  await picked.nth(1).check();
  if (hasJavaScript(testInfo)) {
    await expect(page.locator(".selected-count")).toHaveText("2 selected");
    // Synchronize needs both records: not for deleted ones.
    await expect(page.getByRole("button", { name: "Synchronize: use local" })).toBeDisabled();
  }
  await page.getByRole("toolbar").getByRole("button", { name: "Delete Records" }).click();
  if (hasJavaScript(testInfo)) {
    const answer = page.getByRole("status").filter({ hasText: "delete_records: 2 done" });
    await expect(answer).toBeVisible();
    await expect(answer.locator("li.done")).toHaveCount(2);
  }
  for (const key of keys) await expect(page.locator(`tr:has(a:text-is("${key}"))`)).toHaveCount(0);
});

test("all matching: the count is shown before acting on every matching error", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=deleted_local&mapping=CONTACT");
  const key = await firstKey(page);
  await open(page, testInfo, `/errors?kind=deleted_local&mapping=CONTACT&search=${key}`);
  const all = page.getByLabel("Act on all 1 matching errors");
  await expect(all).toBeVisible();
  await all.check();
  if (hasJavaScript(testInfo)) await expect(page.locator(".selected-count")).toHaveText("All 1 matching errors");
  await page.getByRole("toolbar").getByRole("button", { name: "Remove Coupling" }).click();
  if (hasJavaScript(testInfo)) {
    await expect(page.getByRole("status").filter({ hasText: "1 done" })).toBeVisible();
  }
  await expect(page.getByText("No open sync errors match.")).toBeVisible();
  await open(page, testInfo, `/records/CONTACT/local/${key}/log`);
  await expect(page.locator("table.log tbody tr").first()).toContainText("uncoupled");
});

test("Retry on selected failures answers per record; Find for Deleted queues jobs", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=failed&mapping=CUSTOMER");
  await page.locator(rows).nth(0).locator('input[type="checkbox"]').check();
  await page.getByRole("toolbar").getByRole("button", { name: "Retry", exact: true }).click();
  if (hasJavaScript(testInfo)) {
    // Still too long: it fails again, and says why.
    await expect(page.getByRole("status").filter({ hasText: "retry:" }).locator("li.failed")).toContainText("takes at most 160");
  }
  await expect(page.locator(rows).first()).toBeVisible();
  await page.getByRole("toolbar").getByRole("button", { name: "Find for Deleted" }).click();
  if (hasJavaScript(testInfo)) {
    await expect(page.getByRole("status").filter({ hasText: "Find for Deleted queued for CUSTOMER" })).toBeVisible();
  } else {
    await open(page, testInfo, "/jobs");
    await expect(page.locator("table.jobs")).toContainText("find_for_deleted");
  }
});

test("a whole page of a hundred selected failures is retried at once", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=failed&mapping=CUSTOMER&limit=100");
  await expect(page.locator(rows)).toHaveCount(100);
  if (hasJavaScript(testInfo)) {
    await page.getByLabel("Select this page").check();
    await expect(page.locator(".selected-count")).toHaveText("100 selected");
  } else {
    for (const box of await page.locator(rows).locator('input[type="checkbox"]').all()) await box.check();
  }
  await page.getByRole("toolbar").getByRole("button", { name: "Retry", exact: true }).click();
  if (hasJavaScript(testInfo)) {
    // Each name is still too long: every record fails again, and the answer says so.
    const answer = page.getByRole("status").filter({ hasText: "retry: 0 done" });
    await expect(answer).toContainText("100 failed");
    await expect(answer.locator("li.failed")).toHaveCount(100);
  } else {
    await expect(page).toHaveURL(/\/errors\?kind=failed&mapping=CUSTOMER&limit=100$/);
    await expect(page.getByRole("alert")).toHaveCount(0);
  }
  // Whoever looks at the audit sees the one action on a hundred records.
  await open(page, testInfo, "/audit?action=retry");
  await expect(page.locator("table.audit tbody tr").first()).toContainText("100 failed");
});

test("a fix on a stale view is refused with who handled it and when", async ({ browser }, testInfo) => {
  test.skip(!hasJavaScript(testInfo), "the answer is shown in place once hydrated");
  const alice = await browser.newPage();
  const bob = await browser.newPage();
  for (const page of [alice, bob]) await open(page, testInfo, "/errors?kind=failed");
  const first = (page: Page) => page.locator(rows).first();
  const key = await firstKey(alice);
  // Bob's view must not refresh before he clicks: keep his list as it was.
  await bob.route("**/api/events", (route) => route.fulfill({ status: 204 }));
  await bob.reload();
  await expect(bob.locator("body")).toHaveAttribute("data-hydrated", "true");
  await first(alice).getByRole("button", { name: `Retry ${key}` }).click();
  await expect(alice.getByRole("status").filter({ hasText: "retry: 0 done" })).toBeVisible();
  await first(bob).getByRole("button", { name: `Retry ${key}` }).click();
  const answer = bob.getByRole("status").filter({ hasText: "already handled by someone else" });
  await expect(answer).toBeVisible();
  await expect(answer).toContainText(/already handled by e2e-admin at \d{4}-\d\d-\d\d/);
  await bob.screenshot({ path: testInfo.outputPath("stale.png"), fullPage: true });
  await alice.close();
  await bob.close();
});

test("two administrators: one acts, the other's list updates without a reload", async ({ browser }, testInfo) => {
  test.skip(!hasJavaScript(testInfo), "live updates need the page running");
  const watcher = await (await browser.newContext()).newPage();
  const actor = await (await browser.newContext()).newPage();
  const path = "/errors?kind=deleted_integration&mapping=CUSTOMER";
  await open(watcher, testInfo, path);
  await open(actor, testInfo, path);
  const key = await firstKey(watcher);
  // The watcher selects another row and scrolls: both must survive the update.
  const other = watcher.locator(rows).nth(1);
  const otherKey = (await other.getByRole("link").first().textContent()) ?? "";
  await other.locator('input[type="checkbox"]').check();
  await watcher.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  await actor.locator(rows).first().getByRole("button", { name: `Restore Records ${key}` }).click();
  await expect(watcher.locator(`tr:has(a:text-is("${key}"))`)).toHaveCount(0, { timeout: 5000 });
  expect(await watcher.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
  await expect(watcher.locator(`tr:has(a:text-is("${otherKey}")) input[type="checkbox"]`)).toBeChecked();
  await watcher.close();
  await actor.close();
});

test("an ambiguous match lists its candidates, and a person couples one", async ({ page }, testInfo) => {
  // One ambiguity for each run of the spec: with WebAssembly, then without JavaScript.
  const n = hasJavaScript(testInfo) ? 1 : 2;
  await open(page, testInfo, `/errors?mapping=CUSTOMER&search=C-AMB-${n}`);
  await page.getByRole("link", { name: `Details of C-AMB-${n}`, exact: true }).click();
  await expect(page.locator("p.message")).toContainText(`2 integration records match on email: amb${n}-a, amb${n}-b`);
  await expect(page.locator("p.fix")).toContainText("Coupler never chooses");
  const candidates = page.locator("section", { has: page.getByRole("heading", { name: /^Candidates/ }) });
  await expect(candidates.locator("tbody tr")).toHaveCount(2);
  await expect(candidates).toContainText(`Ambig B ${n}`);
  await candidates.getByRole("button", { name: `Couple with amb${n}-b` }).click();
  await expect(page.getByRole("status").filter({ hasText: /^Resolved by e2e-/ })).toBeVisible();
  // The account took the customer's values, and its log says a person coupled it.
  await open(page, testInfo, `/records/CUSTOMER/integration/amb${n}-b/log`);
  await expect(page.locator("table.log tbody tr").first()).toContainText("coupled by hand");
});

test("an ambiguous match's record is created anew when it is none of its candidates", async ({ page }, testInfo) => {
  const n = hasJavaScript(testInfo) ? 3 : 4;
  await open(page, testInfo, `/errors?mapping=CUSTOMER&search=C-AMB-${n}`);
  await page.getByRole("link", { name: `Details of C-AMB-${n}`, exact: true }).click();
  await expect(page.locator("p.fix")).toContainText("Create New");
  await page.getByRole("toolbar", { name: "Fixes" }).getByRole("button", { name: "Create New" }).click();
  await expect(page.getByRole("status").filter({ hasText: /Resolved by e2e-|create_new: 1 done/ }).first()).toBeVisible();
  // The customer was created in the CRM, coupled with neither candidate.
  await open(page, testInfo, `/records/CUSTOMER/local/C-AMB-${n}/log`);
  const created = page.locator("table.log tbody tr").first();
  await expect(created).toContainText("inserted");
  await expect(created).not.toContainText(`amb${n}-`);
});
