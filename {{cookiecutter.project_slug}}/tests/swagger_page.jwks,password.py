"""Swagger UI (5.x) at /docs as a page object: the Authorize dialog, and "Try it out" → "Execute"."""

from __future__ import annotations

import re
from collections.abc import Callable

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

TIMEOUT = 15.0
# Once logged in, Swagger UI relabels the dialog's Authorize button "Logout".
LOGOUT = "button[aria-label='Remove authorization']"


class SwaggerPage:
    """One open /docs page."""

    def __init__(self, driver: WebDriver, docs_url: str) -> None:
        self.driver = driver
        driver.get(docs_url)
        self._visible(".swagger-ui .information-container")

    def _wait(self) -> WebDriverWait[WebDriver]:
        return WebDriverWait(self.driver, TIMEOUT)

    def _visible(self, css: str, within: WebElement | None = None) -> WebElement:
        if within is None:
            element: WebElement = self._wait().until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))
            return element
        return self._wait().until(lambda _: within.find_element(By.CSS_SELECTOR, css))

    def _click(self, css: str, within: WebElement | None = None) -> None:
        target = self._visible(css, within)
        self._wait().until(lambda _: target.is_enabled())
        target.click()

    def open_authorize_dialog(self) -> WebElement:
        """Click the "Authorize" button at the top; return the dialog."""
        self._click(".auth-wrapper button.authorize")
        return self._visible(".dialog-ux .modal-ux")

    def close_dialog(self) -> None:
        self._click(".dialog-ux button.btn-done")
        self._wait().until(ec.invisibility_of_element_located((By.CSS_SELECTOR, ".dialog-ux .modal-ux")))

    @staticmethod
    def scheme(dialog: WebElement, name: str) -> WebElement:
        """The part of the dialog for one security scheme, such as ``ProviderLogin``."""
        for part in dialog.find_elements(By.CSS_SELECTOR, ".auth-container"):
            if part.find_element(By.TAG_NAME, "h4").text.startswith(name):
                return part
        raise AssertionError(f"no {name} in the Authorize dialog")

    @staticmethod
    def scopes(dialog: WebElement) -> list[tuple[str, str]]:
        """The (name, description) of each scope offered in the dialog, or in one scheme's part of it."""
        rows = dialog.find_elements(By.CSS_SELECTOR, ".scopes .checkbox .text")
        return [
            (row.find_element(By.CLASS_NAME, "name").text, row.find_element(By.CLASS_NAME, "description").text)
            for row in rows
        ]

    @staticmethod
    def shown_labels(dialog: WebElement) -> list[str]:
        """The labels of the fields shown (``client_id:``, ``client_secret:``, ...) in the dialog or a part of it."""
        return [label.text for label in dialog.find_elements(By.CSS_SELECTOR, "label[for]") if label.is_displayed()]

    def log_in_with_code_flow(self, scheme: WebElement, log_in_at_provider: Callable[[WebDriver], None]) -> None:
        """Authorization code + PKCE: the scheme's Authorize button opens a popup at the provider.

        ``log_in_at_provider`` completes the provider's pages in that popup; Swagger UI's redirect
        page then hands the code back to the opener, closes the popup, and the page exchanges the code.
        """
        main = self.driver.current_window_handle
        before = set(self.driver.window_handles)
        self._click(".auth-btn-wrapper button.authorize", scheme)
        self._wait().until(lambda d: len(set(d.window_handles) - before) == 1)
        (popup,) = set(self.driver.window_handles) - before
        self.driver.switch_to.window(popup)
        log_in_at_provider(self.driver)
        self._wait().until(lambda d: popup not in d.window_handles)
        self.driver.switch_to.window(main)
        self._visible(LOGOUT, scheme)
        self.close_dialog()

    def _submit_password(self, scheme: WebElement, username: str, password: str) -> None:
        for field, value in (("oauth_username", username), ("oauth_password", password)):
            box = self._visible(f"#{field}", scheme)
            box.clear()
            box.send_keys(value)
        self._click(".auth-btn-wrapper button.authorize", scheme)

    def log_in_with_password(self, scheme: WebElement, username: str, password: str) -> None:
        """The OAuth2 password flow: the page posts the username and password to the scheme's token URL."""
        self._submit_password(scheme, username, password)
        self._visible(LOGOUT, scheme)
        self.close_dialog()

    def refused_password_login(self, scheme: WebElement, username: str, password: str) -> str:
        """A password login the token URL refuses; the error the dialog shows."""
        self._submit_password(scheme, username, password)
        return self._visible(".errors", scheme).text

    def execute(self, tag: str, operation_id: str) -> tuple[int, str]:
        """Open an operation, "Try it out", "Execute"; return the status code and body shown."""
        block = self._visible(f"#operations-{tag}-{operation_id}")
        if "is-open" not in (block.get_attribute("class") or ""):
            self._click(".opblock-summary", block)
        if not block.find_elements(By.CSS_SELECTOR, "button.execute"):
            self._click("button.try-out__btn", block)
        # A previous answer stays on the page: clear it, so that the new one is read.
        for clear in block.find_elements(By.CSS_SELECTOR, "button.btn-clear"):
            clear.click()
        self._wait().until(lambda _: not block.find_elements(By.CSS_SELECTOR, ".live-responses-table"))
        self._click("button.execute", block)
        status = self._visible(".live-responses-table .response .response-col_status", block)
        body = self._visible(".live-responses-table .response .response-col_description pre", block)
        match = re.match(r"\s*(\d{3})", status.text)
        if match is None:
            raise AssertionError(f"no status code in {status.text!r}")
        return int(match.group(1)), body.text
