import type { Page, TestInfo } from "@playwright/test";
import { expect, open, test } from "./support";

// Every page reads from a phone up: at a laptop's width and at a phone's, the page is no
// wider than the window (a wide table scrolls inside its own box), no text is cut off by
// its box, and on the phone the header leaves room for the page.

/** A phone (390 px, as an iPhone 12 to 15) and a laptop. */
const widths = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

/** The tallest the header may be on a phone: the name, the navigation, the finder. */
const phoneHeader = 120;

/**
 * The newest long-named customer failing in the CRM (test.sh makes a hundred and more):
 * its key, and the address of its error's page. The longest texts the console shows.
 */
async function longFailure(page: Page, testInfo: TestInfo) {
  await open(page, testInfo, "/errors?mapping=CUSTOMER&kind=failed&search=takes%20at%20most%20160");
  const row = page.locator("table.errors tbody tr").first();
  const key = (await row.getByRole("link").first().textContent()) ?? "";
  const details = (await row.getByRole("link", { name: /^Details of / }).getAttribute("href")) ?? "";
  expect(key, "a failing CUSTOMER record to show").not.toBe("");
  expect(details, "the address of its error's page").toMatch(/^\/errors\/\d+$/);
  return { record: `/records/CUSTOMER/local/${encodeURIComponent(key)}`, details };
}

/** The pages, each with how to find its address. */
const screens: { name: string; path: (page: Page, testInfo: TestInfo) => Promise<string> }[] = [
  { name: "overview", path: async () => "/" },
  { name: "mappings list", path: async () => "/mappings" },
  { name: "mapping page", path: async () => "/mappings/CUSTOMER" },
  { name: "records by state", path: async () => "/mappings/CUSTOMER/records?status=skipped" },
  { name: "record page", path: async (page, testInfo) => (await longFailure(page, testInfo)).record },
  { name: "record log", path: async (page, testInfo) => `${(await longFailure(page, testInfo)).record}/log` },
  { name: "errors list", path: async () => "/errors" },
  { name: "error detail", path: async (page, testInfo) => (await longFailure(page, testInfo)).details },
];

/**
 * What does not read on the page as drawn: the page wider than the window (with the
 * outermost elements sticking out, outside any scroll box), text cut off by a box that
 * hides its overflow or ends it with an ellipsis, and text spilling out of its box.
 * Each names the element: its tag, classes and the start of its text.
 */
async function unreadable(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const name = (el: Element) => {
      const classes = [...el.classList].map((c) => `.${c}`).join("");
      const text = (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 40);
      return `${el.tagName.toLowerCase()}${classes} "${text}"`;
    };
    // A box that cuts its text off, and any box that keeps what overflows it inside
    // (a scroll box, such as a wide table's).
    const clips = (el: Element) => {
      const style = getComputedStyle(el);
      return style.overflowX === "hidden" || style.overflowX === "clip" || style.textOverflow === "ellipsis";
    };
    const holds = (el: Element) => getComputedStyle(el).overflowX !== "visible";
    const width = window.innerWidth;
    const page = document.documentElement.scrollWidth;
    if (page > width) {
      problems.push(`the page is ${page} px wide in a ${width} px window`);
      // The outermost elements past the window's edge that no scroll box holds. A box
      // holds what it contains, but an absolutely positioned element only if the box
      // is positioned too (or contains the element's positioned ancestor).
      const held = (el: Element) => {
        let node: Element = el;
        for (;;) {
          const position = getComputedStyle(node).position;
          if (position === "fixed") return false;
          let parent = node.parentElement;
          if (position === "absolute") {
            while (parent && parent !== document.body && getComputedStyle(parent).position === "static") {
              parent = parent.parentElement;
            }
          }
          if (!parent || parent === document.body) return false;
          if (holds(parent)) return true;
          node = parent;
        }
      };
      const sticksOut = (el: Element | null): el is Element => {
        if (!el || el === document.body) return false;
        const box = el.getBoundingClientRect();
        return box.width > 0 && (box.right > width + 1 || box.left < -1) && !held(el);
      };
      for (const el of document.body.querySelectorAll("*")) {
        if (sticksOut(el) && !sticksOut(el.parentElement)) {
          problems.push(`${name(el)} reaches ${Math.round(el.getBoundingClientRect().right)} px`);
        }
      }
    }
    // Text cut off by its own box, or spilling out of it over its neighbours (a grid
    // column too narrow for a word). Inline boxes have no width of their own to measure;
    // the visually hidden labels are cut off on purpose.
    const text = "h1, h2, h3, h4, p, td, th, li, a, span, dt, dd, label, button, div, caption, summary, figcaption, code";
    for (const el of document.querySelectorAll(text)) {
      if (!(el instanceof HTMLElement) || el.closest(".visually-hidden")) continue;
      if (!el.textContent?.trim() || el.getClientRects().length === 0) continue;
      const style = getComputedStyle(el);
      if (style.display === "inline" || (holds(el) && !clips(el))) continue;
      if (el.scrollWidth > el.clientWidth + 1) {
        const how = clips(el) ? "is cut off" : "spills out of its box";
        problems.push(`${name(el)} ${how}: ${el.scrollWidth} px of text in ${el.clientWidth} px`);
      }
    }
    // Enough to find the cause; a table of a hundred rows need not list every row.
    const most = 12;
    return problems.length > most ? [...problems.slice(0, most), `and ${problems.length - most} more`] : problems;
  });
}

for (const size of widths) {
  test.describe(`at ${size.width} px`, () => {
    test.use({ viewport: size });

    for (const screen of screens) {
      test(`the ${screen.name} reads at ${size.width} px`, async ({ page }, testInfo) => {
        const path = await screen.path(page, testInfo);
        await open(page, testInfo, path);
        const where = `${screen.name} (${path}) at ${size.width} px`;
        await page.screenshot({
          path: testInfo.outputPath(`${screen.name.replace(/ /g, "-")}-${size.width}.png`),
          fullPage: true,
        });
        expect(await unreadable(page), `what does not read on the ${where}`).toEqual([]);
        if (size.width < 720) {
          const header = (await page.locator("header.topbar").boundingBox())?.height ?? 0;
          expect(header, `the header's height on the ${where}`).toBeLessThanOrEqual(phoneHeader);
        }
      });
    }
  });
}
