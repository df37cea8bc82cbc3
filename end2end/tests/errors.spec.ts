import { expect, hasJavaScript, open, test } from "./support";

// The test command synchronizes the demo, lets people edit both systems, and
// synchronizes again: there are conflicts, deletions and failures to see.

const rows = "table.errors tbody tr";

test("the errors page lists the open errors in plain words", async ({ page }, testInfo) => {
  // The test data's newest failures are the lengthened names; a page large enough for
  // every open error shows each kind at once.
  await open(page, testInfo, "/errors?limit=1000");
  await expect(page).toHaveTitle("Coupled Data Synchronization Errors · Coupler");
  await expect(page.locator(rows).first()).toBeVisible();
  await expect(page.getByText(/^Showing \d+ of \d+ open errors/)).toBeVisible();
  const table = page.locator("table.errors");
  await expect(table).toContainText("Update conflict");
  await expect(table).toContainText("Both records changed since the last synchronization");
  await expect(table).toContainText("takes at most 160");
  // A deleted record is marked, and its partner named with a readable description.
  const deleted = page.locator(rows).filter({ hasText: "Local record deleted" }).first();
  await expect(deleted.locator("td").nth(2).locator(".badge")).toHaveText("deleted");
  await expect(deleted.locator("td").nth(3).locator(".description")).not.toBeEmpty();
  // Each row offers only the fixes that apply: a record never created can be retried,
  // not restored.
  const refused = page.locator(rows).filter({ hasText: "not coupled" }).first();
  await expect(refused.getByRole("button", { name: /^Retry / })).toBeVisible();
  await expect(refused.getByRole("button", { name: /^Restore Records/ })).toHaveCount(0);
  await expect(deleted.getByRole("button", { name: /^Restore Records/ })).toBeVisible();
  await expect(deleted.getByRole("button", { name: /^Retry / })).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath("errors.png"), fullPage: true });
});

test("a filter is a link, and the form sets it", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=failed");
  const kinds = page.locator(`${rows} td:nth-child(5)`);
  await expect(kinds.first()).toBeVisible();
  for (const text of await kinds.allTextContents()) expect(text).toContain("Failed");

  await page.getByLabel("Kind").selectOption("update_conflict");
  await page.getByLabel("Mapping").selectOption("CUSTOMER");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/mapping=CUSTOMER/);
  await expect(page).toHaveURL(/kind=update_conflict/);
  await expect(kinds.first()).toContainText("Update conflict");
  for (const text of await kinds.allTextContents()) expect(text).toContain("Update conflict");
});

test("text search finds a record by key or name, and a time range narrows", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=failed&mapping=CUSTOMER");
  const first = page.locator(rows).first();
  const key = (await first.getByRole("link").first().textContent()) ?? "";
  await page.getByRole("searchbox", { name: "Search" }).fill(key);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(new RegExp(`search=${key}`));
  await expect(page.locator(rows)).toHaveCount(1);
  await expect(page.locator(rows).first()).toContainText(key);

  // Tomorrow onwards: nothing failed yet.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await open(page, testInfo, `/errors?since=${tomorrow}`);
  await expect(page.getByText("No open sync errors match.")).toBeVisible();
  // Up to today: everything.
  const today = new Date().toISOString().slice(0, 10);
  await open(page, testInfo, `/errors?until=${today}`);
  await expect(page.locator(rows).first()).toBeVisible();
});

test("a value containing markup is shown as text, never run", async ({ page }, testInfo) => {
  let dialogs = 0;
  page.on("dialog", async (dialog) => {
    dialogs += 1;
    await dialog.dismiss();
  });
  await open(page, testInfo, "/errors?search=pasted");
  const row = page.locator(rows).first();
  await expect(row.locator(".description")).toContainText('<script>alert("pasted")</script>');
  await expect(page.locator("table.errors script")).toHaveCount(0);
  await page.waitForTimeout(300);
  expect(dialogs).toBe(0);
});

test("keyset pages: Load more, and a shared page link", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?limit=3");
  await expect(page.locator(rows)).toHaveCount(3);
  const firstPage = await page.locator(rows).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-error")));
  await page.getByRole("link", { name: "Load more" }).click();
  if (hasJavaScript(testInfo)) {
    // Shown in place, after the first page.
    await expect(page.locator(rows)).toHaveCount(6);
    await expect(page).toHaveURL(/\/errors\?limit=3$/);
    const both = await page.locator(rows).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-error")));
    expect(both.slice(0, 3)).toEqual(firstPage);
  } else {
    // The next page, as a link anyone can open.
    await expect(page).toHaveURL(/after=\d+\.\d+/);
    await expect(page.locator(rows)).toHaveCount(3);
    const next = await page.locator(rows).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-error")));
    for (const id of next) expect(firstPage).not.toContain(id);
    await expect(page.getByRole("link", { name: "Back to the newest" })).toBeVisible();
  }
});

test("the current filter exports as CSV", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=failed");
  const shown = await page.getByText(/^Showing \d+ of (\d+) open errors/).textContent();
  const total = Number(/of (\d+)/.exec(shown ?? "")?.[1]);
  const href = await page.getByRole("link", { name: "Export CSV" }).getAttribute("href");
  expect(href).toContain("kind=failed");
  const response = await page.request.get(href ?? "");
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toContain("text/csv");
  const body = await response.text();
  const lines = body.trim().split("\n");
  expect(lines[0]).toBe(
    "id,mapping,kind,local_key,local_exists,integration_key,integration_exists,description,message,failed_on,first_failed_on,attempts,skipped,last_changed_by",
  );
  expect(body).toContain(",failed,");
  expect(body).not.toContain(",update_conflict,");
  // Descriptions with commas are quoted: count records, not lines.
  expect(body.match(/^\d+,/gm)?.length).toBe(total);
});

test("an unknown kind in the address is refused in plain words", async ({ page }) => {
  const response = await page.goto("/errors?kind=broken");
  expect(response?.status()).toBe(400);
  await expect(page.getByRole("alert")).toContainText('"broken" is not a kind');
});

test("a record's synchronization log opens from the errors page and from a cold link", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=update_conflict");
  const link = page.locator(rows).first().getByRole("link").first();
  const key = (await link.textContent()) ?? "";
  await link.click();
  await expect(page).toHaveURL(new RegExp(`/records/CUSTOMER/local/${key}/log$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Synchronization Log");
  await expect(page.locator("table.log")).toContainText("conflict");
  await expect(page.locator("table.log")).toContainText('city: local "Lisbon", integration "Reykjavik"');
  expect(await page.locator("table.log tbody tr").count()).toBeGreaterThan(1);
  const address = page.url();
  await page.screenshot({ path: testInfo.outputPath("record-log.png"), fullPage: true });

  // A colleague opens the same link cold.
  const fresh = await page.context().newPage();
  await fresh.goto(address);
  await expect(fresh.getByText(`Mapping CUSTOMER, local record ${key}`)).toBeVisible();
  await expect(fresh.locator("table.log tbody tr").first()).toBeVisible();
  await fresh.close();
});

test("one error's page shows both records side by side with the fix", async ({ page }, testInfo) => {
  await open(page, testInfo, "/errors?kind=update_conflict");
  await page.locator(rows).first().getByRole("link", { name: /^Details of/ }).click();
  await expect(page).toHaveURL(/\/errors\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("CUSTOMER Update conflict");
  await expect(page.getByRole("heading", { name: "What happened" })).toBeVisible();
  await expect(page.locator("p.fix")).toContainText("Choose a side for each conflicting field");
  const city = page.locator("table.compare tbody tr").filter({ hasText: "city" });
  await expect(city).toHaveClass(/conflict/);
  await expect(city).toContainText("Lisbon");
  await expect(city).toContainText("Reykjavik");
  await expect(city.locator("td.changed")).toHaveCount(2);
  // Unchanged fields are not marked.
  await expect(page.locator("table.compare tbody tr").filter({ hasText: /^email/ }).locator("td.changed")).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath("error-detail.png"), fullPage: true });
});

test("a job's page is reached from the jobs list", async ({ page }, testInfo) => {
  await open(page, testInfo, "/jobs");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Integration Synchronization Jobs");
  const table = page.locator("table.jobs");
  await expect(table).toContainText("CUSTOMER");
  await expect(table).toContainText("succeeded");
  await expect(table).toContainText(/inserted \d+/);
  await expect(table.locator("tbody tr").first()).toContainText(/bidirectional|to_integration|from_integration/);
  await page.screenshot({ path: testInfo.outputPath("jobs.png"), fullPage: true });
  const id = await table.locator("tbody tr").last().getAttribute("data-job");
  await table.getByRole("link", { name: id ?? "", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/jobs/${id}$`));
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Job ${id}`);
  await expect(page.locator("table.counters")).toContainText("inserted");
});
