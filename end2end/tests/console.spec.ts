import { expect, hasJavaScript, open, test } from "./support";

test("the overview shows each mapping's numbers and the error trend", async ({ page }, testInfo) => {
  await open(page, testInfo, "/");
  await expect(page).toHaveTitle("Overview · Coupler");
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  for (const name of ["CUSTOMER", "CONTACT", "ITEM-PRODUCT"]) {
    await expect(page.getByRole("link", { name, exact: true })).toBeVisible();
  }
  const customer = page.locator('li.card[data-mapping="CUSTOMER"]');
  await expect(customer).toContainText(/Coupled\s*\d{3}/);
  await expect(customer).toContainText(/In sync\s*\d{3}/);
  await expect(customer).toContainText(/Update conflict\s*\d+/);
  await expect(customer).toContainText(/Last job\s*job \d+/);
  // The chart is drawn by the app: one bar per hour, and the total in words.
  const day = page.getByRole("img", { name: /Errors found per hour, last 24 hours: \d+ in all/ });
  await expect(day).toBeVisible();
  await expect(day.locator("rect.bar")).toHaveCount(24);
  await expect(page.getByRole("img", { name: /Errors found per day, last 7 days/ }).locator("rect.bar")).toHaveCount(7);
  await page.screenshot({ path: testInfo.outputPath("overview.png"), fullPage: true });
});

test("the navigation reaches every page, and says who is signed in", async ({ page }, testInfo) => {
  await open(page, testInfo, "/");
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Synchronization Errors" }).click();
  await expect(page).toHaveURL(/\/errors$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Coupled Data Synchronization Errors");

  await nav.getByRole("link", { name: "Audit" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Audit");
  await expect(page.locator("table.audit tbody tr").first()).toBeVisible();

  await nav.getByRole("link", { name: "Users" }).click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByRole("row", { name: /e2e-operator/ })).toContainText("operator");
  await expect(page.locator(".me")).toContainText("e2e-admin (admin)");

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
  await expect(page.locator("dl.numbers")).toContainText(/Coupled\s*\d+/);
  await expect(page.locator("dl.settings")).toContainText(
    /On a match\s*source: the values of the record whose change found the match win/,
  );
  await page.screenshot({ path: testInfo.outputPath("mapping.png"), fullPage: true });
});

test("a mapping's settings change in the console and say so", async ({ page }, testInfo) => {
  await open(page, testInfo, "/mappings/ITEM-PRODUCT");
  await page.getByLabel("Interval").fill(hasJavaScript(testInfo) ? "45s" : "50s");
  await page.getByRole("button", { name: "Save settings" }).click();
  const interval = page.locator("dl.settings dd").filter({ hasText: /^\d+ s/ });
  await expect(interval).toContainText(hasJavaScript(testInfo) ? "45 s" : "50 s");
  await expect(interval).toContainText("changed in the console");
});

test("a mapping's job runs from its page, and the job's page follows it live", async ({ page }, testInfo) => {
  await open(page, testInfo, "/mappings/CONTACT");
  await page.getByRole("button", { name: "Full synchronization" }).click();
  if (hasJavaScript(testInfo)) {
    const answer = page.getByRole("status").filter({ hasText: /Job \d+ \(full_synchronization\)/ });
    await expect(answer).toBeVisible();
    await answer.getByRole("link", { name: "Follow it" }).click();
    await expect(page).toHaveURL(/\/jobs\/\d+$/);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    // Queued, then run by the server's worker: the page follows without a reload.
    await expect(page.locator("[data-state]")).toHaveAttribute("data-state", "succeeded", { timeout: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    await expect(page.locator("table.counters")).toContainText("unchanged");
    await expect(page.locator(".progress-text")).toContainText(/\d+ records/);
    await page.screenshot({ path: testInfo.outputPath("job.png"), fullPage: true });
  } else {
    await open(page, testInfo, "/jobs");
    await expect(page.locator("table.jobs tbody tr").first()).toContainText("full_synchronization");
  }
});

test("couplings: search by key, remove one, set one up again", async ({ page }, testInfo) => {
  await open(page, testInfo, "/mappings/ITEM-PRODUCT/couplings");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Couplings of ITEM-PRODUCT");
  const rows = page.locator("table.couplings tbody tr");
  const pick = hasJavaScript(testInfo) ? 0 : 1;
  const local = (await rows.nth(pick).locator("td").nth(0).textContent()) ?? "";
  const integration = (await rows.nth(pick).locator("td").nth(1).textContent()) ?? "";
  await page.getByRole("searchbox", { name: "Key" }).fill(local);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(integration);
  await page.screenshot({ path: testInfo.outputPath("couplings.png"), fullPage: true });

  await rows.first().getByRole("button", { name: `Remove Coupling ${local}` }).click();
  await expect(page.getByText("No coupling matches.")).toBeVisible();

  await page.getByLabel("Local key").fill(local);
  await page.getByLabel("Integration key").fill(integration);
  await page.getByRole("button", { name: "Set Up Coupling" }).click();
  if (hasJavaScript(testInfo)) await expect(page.getByRole("status").filter({ hasText: "1 done" })).toBeVisible();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(integration);
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

test("removing all couplings names the count and asks first", async ({ page }, testInfo) => {
  test.skip(hasJavaScript(testInfo), "one run removes them all; the form is the same with the WebAssembly");
  await open(page, testInfo, "/mappings/ITEM-PRODUCT");
  await page.getByText("Remove all couplings").click();
  const confirm = page.getByLabel(/Remove all \d+ couplings of ITEM-PRODUCT/);
  await expect(confirm).toBeVisible();
  const button = page.getByRole("button", { name: /^Remove \d+ couplings$/ });
  const count = Number(/\d+/.exec((await button.textContent()) ?? "")?.[0]);
  expect(count).toBeGreaterThan(0);
  // Not confirmed: the browser does not send the form.
  await button.click();
  await expect(page).toHaveURL(/\/mappings\/ITEM-PRODUCT$/);
  await confirm.check();
  await button.click();
  // A job removes them; without JavaScript the page shows it on the next load.
  await expect(async () => {
    await open(page, testInfo, "/mappings/ITEM-PRODUCT/couplings");
    await expect(page.getByText("No coupling matches.")).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 10_000 });
});

test("the alerts page lists each rule and its firings with their deliveries", async ({ page }, testInfo) => {
  await open(page, testInfo, "/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Alerts" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Alerts");
  const rule = page.locator("table.alert-rules tbody tr", { hasText: "customer errors" });
  await expect(rule).toContainText("more than 0 open errors");
  await expect(rule).toContainText("webhook http://127.0.0.1:9");
  await expect(rule).not.toContainText("/hooks/coupler");
  // The rule fired when the server started; its delivery has nobody to answer it, so it
  // is being retried, or has failed for good once the suite has run for a minute.
  await expect(async () => {
    await open(page, testInfo, "/alerts");
    const firing = page.locator("table.firings tbody tr", { hasText: "customer errors" }).first();
    await expect(firing).toContainText(/CUSTOMER: \d+ open errors/, { timeout: 1000 });
    await expect(firing.locator("td.state")).toHaveText("firing", { timeout: 1000 });
    await expect(firing.locator("li.delivery")).toContainText(
      /webhook http:\/\/127\.0\.0\.1:9: (retrying: \d+ attempts? failed|failed after \d+ attempts) \(last: .*Connection refused/,
      { timeout: 1000 },
    );
  }).toPass({ timeout: 20000 });
  await expect(rule).toContainText("CUSTOMER");
});
