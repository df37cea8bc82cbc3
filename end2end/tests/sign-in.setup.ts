import { expect, test as setup } from "@playwright/test";
import { signIn } from "./support";

// Every spec runs signed in as the test command's admin; roles.spec.ts signs in others.
setup("sign in as the admin", async ({ page }) => {
  await signIn(page, "e2e-admin", "/");
  await expect(page.locator(".me")).toContainText("e2e-admin (admin)");
  await page.context().storageState({ path: ".auth/admin.json" });
});
