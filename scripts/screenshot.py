r"""Screenshots of a page in headless chromium (Debian's chromium and
chromium-driver, through selenium), for the docs.

  python scripts/screenshot.py --url=http://127.0.0.1:8501/ --output=docs/serving.png \
      --type_text="$(cat paragraph.txt)" --click=tag --wait_for="#result[data-done]"
  python scripts/screenshot.py --url=http://127.0.0.1:6006/ --output=docs/tensorboard.png \
      --wait_seconds=15
"""

import shutil
import time

from absl import app
from absl import flags
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

flags.DEFINE_string("url", None, "The page.")
flags.DEFINE_string("output", None, "The PNG to write.")
flags.DEFINE_string("type_text", "", "Text to type into #text first.")
flags.DEFINE_string("click", "", "Id of a button to click after typing.")
flags.DEFINE_string("wait_for", "", "CSS selector to wait for before the shot.")
flags.DEFINE_float("wait_seconds", 1.0, "Extra seconds before the shot.")
flags.DEFINE_integer("width", 1100, "Window width.")
flags.DEFINE_integer("height", 800, "Window height.")
flags.mark_flags_as_required(["url", "output"])
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  options = webdriver.ChromeOptions()
  options.binary_location = shutil.which("chromium")
  for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage",
              f"--window-size={FLAGS.width},{FLAGS.height}"):
    options.add_argument(arg)
  browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")),
                             options=options)
  try:
    browser.get(FLAGS.url)
    if FLAGS.type_text:
      WebDriverWait(browser, 60).until(
          lambda b: b.find_elements(By.CSS_SELECTOR, "#legend .legend-item"))
      browser.find_element(By.ID, "text").send_keys(FLAGS.type_text)
    if FLAGS.click:
      browser.find_element(By.ID, FLAGS.click).click()
    if FLAGS.wait_for:
      WebDriverWait(browser, 60).until(
          lambda b: b.find_elements(By.CSS_SELECTOR, FLAGS.wait_for))
    time.sleep(FLAGS.wait_seconds)
    browser.save_screenshot(FLAGS.output)
    print(f"wrote {FLAGS.output}")
  finally:
    browser.quit()


if __name__ == "__main__":
  app.run(main)
