"""The studio in a real browser (Debian's headless chromium), used with the keyboard alone: upload a
real clip, follow it being described, rewrite a description, render, and get the new text back in
the described MP4; and axe-core's WCAG 2.1 A/AA rules on both pages."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from studio import axe_violations, browser, heard, track
from videodesc.records import load_script

NEW_TEXT = "A man in a dark suit waits by the window."


@pytest.fixture(scope="module")
def driver():
    chrome = browser()
    yield chrome
    chrome.quit()


def text_of(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def shortcut(driver, key: str) -> None:
    ActionChains(driver).key_down(Keys.ALT).key_down(Keys.SHIFT).send_keys(key).key_up(Keys.SHIFT).key_up(Keys.ALT).perform()


def test_a_describer_uploads_edits_and_renders_with_the_keyboard(studio, driver, studio_clip, tmp_path):
    driver.get(studio.url + "/")
    assert axe_violations(driver) == []
    # Served without a media folder or a model writer: those choices are not offered.
    assert not driver.find_element(By.ID, "media-choice").is_displayed()
    assert not driver.find_element(By.ID, "writer-choice").is_displayed()
    # The file is chosen as the file dialog would; everything after it is keys.
    driver.find_element(By.ID, "video-file").send_keys(str(studio_clip))
    name = driver.find_element(By.ID, "project-name")
    name.send_keys("Keyboard clip", Keys.TAB, "English")  # the language list, by typing its option
    assert driver.switch_to.active_element.get_attribute("id") == "language"
    name.send_keys(Keys.ENTER)  # submits the form
    WebDriverWait(driver, 60).until(lambda d: "/projects/" in d.current_url)
    project = driver.current_url.rstrip("/").split("/")[-1]
    WebDriverWait(driver, 300, 0.5).until(lambda d: text_of(d, "job-status") == "Describing: done")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cues li"))
    assert driver.find_element(By.ID, "project-name").text == "Keyboard clip"
    assert axe_violations(driver) == []

    # Next description: its text box has the focus, the video is at its start.
    shortcut(driver, "n")
    assert driver.switch_to.active_element.get_attribute("id") == "text-0"
    assert "Description 1 of" in text_of(driver, "save-status")
    box = driver.switch_to.active_element
    revision = lambda: driver.execute_script("return state.revision")
    before = revision()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(NEW_TEXT)
    WebDriverWait(driver, 20).until(lambda d: revision() != before)  # saved a moment after typing stops
    assert text_of(driver, "save-status") == "Saved description 1."
    assert text_of(driver, "warn-0") == "No warnings."
    # Typing a filler phrase shows its warning live, in words; undo takes the edit back.
    before = revision()
    box.send_keys(Keys.END, " We see a bus")
    WebDriverWait(driver, 20).until(lambda d: "'we see' filler" in text_of(d, "warn-0"))
    assert "Warning: no full stop at the end" in text_of(driver, "warn-0")
    WebDriverWait(driver, 20).until(lambda d: revision() != before)
    driver.find_element(By.ID, "undo").send_keys(Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: text_of(d, "save-status") == "Undone.")
    assert driver.find_element(By.ID, "text-0").get_attribute("value") == NEW_TEXT

    driver.find_element(By.ID, "render").send_keys(Keys.ENTER)
    WebDriverWait(driver, 300, 0.5).until(lambda d: text_of(d, "job-status") == "Rendering: done")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.PARTIAL_LINK_TEXT, "Described video (MP4)"))
    link = driver.find_element(By.PARTIAL_LINK_TEXT, "Described video (MP4)").get_attribute("href")
    video = tmp_path / "ad.mp4"
    video.write_bytes(studio.get(link.removeprefix(studio.url)).content)
    script = load_script(studio.get(f"/api/projects/{project}/files/script.json").text)
    cue = script.cues[0]
    assert cue.text == NEW_TEXT
    assert "window" in heard(track(video, 1), max(0.0, cue.start - 0.1), cue.start + cue.spoken_duration + 0.3)
    assert NEW_TEXT in studio.get(f"/api/projects/{project}/files/descriptions.vtt").text
    # The described sound can now be chosen (arrow keys move between radio buttons), and the
    # video played with its shortcut: the picture plays muted beside the described mix, in step.
    original = driver.find_element(By.CSS_SELECTOR, "input[name=sound][value=original]")
    original.send_keys(Keys.ARROW_RIGHT)
    assert driver.switch_to.active_element.get_attribute("id") == "sound-described"
    assert driver.find_element(By.ID, "sound-described").is_selected()
    player = lambda script: driver.execute_script(f"const v = document.getElementById('player'), "
                                                  f"a = document.getElementById('described-sound'); return {script};")
    shortcut(driver, "p")
    WebDriverWait(driver, 20).until(lambda d: player("!v.paused && v.currentTime > 0.5"))
    assert player("v.muted") and player("!a.paused") and player("a.src").split("?")[0].endswith("studio_clip.ad-mix.m4a")
    assert player("Math.abs(a.currentTime - v.currentTime)") < 0.5
    shortcut(driver, "p")
    WebDriverWait(driver, 10).until(lambda d: player("v.paused && a.paused"))
    time.sleep(0.5)
    driver.save_screenshot(str(tmp_path / "project.png"))

    # Deleting the project asks first, then takes it and its files away.
    driver.find_element(By.ID, "delete-project").send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: "Keyboard clip" in d.switch_to.alert.text)
    driver.switch_to.alert.accept()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.rstrip("/") == studio.url)
    assert studio.get(f"/api/projects/{project}").status_code == 404
    assert not (studio.data / "projects" / project).exists()


def test_every_control_of_a_description_works_from_the_keyboard(studio, driver, studio_clip):
    answer = studio.upload(studio_clip, name="Controls")
    assert answer.status_code == 201, answer.text
    project = answer.json()["id"]
    assert studio.wait(answer.json()["job"]["id"])["status"] == "done"
    driver.get(f"{studio.url}/projects/{project}")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cues li"))
    script = lambda: studio.get(f"/api/projects/{project}/editor").json()["script"]
    status = lambda: text_of(driver, "save-status")
    first = script()["cues"][0]
    buttons = lambda n: {b.text: b for b in driver.find_elements(By.CSS_SELECTOR, f"#cue-{n} button")}

    # Another alternative, chosen with the arrow keys: saved, and the page shows it once the
    # answer is back (its revision changes as the page takes the saved script in).
    revision = lambda: driver.execute_script("return state.revision")
    radios = driver.find_elements(By.CSS_SELECTOR, "#cue-0 input[type=radio]")
    assert len(radios) >= 2
    chosen = next(n for n, r in enumerate(radios) if r.is_selected())
    before = revision()
    radios[chosen].send_keys(Keys.ARROW_DOWN if chosen + 1 < len(radios) else Keys.ARROW_UP)
    picked = chosen + 1 if chosen + 1 < len(radios) else chosen - 1
    WebDriverWait(driver, 20).until(lambda d: revision() != before)
    assert script()["cues"][0]["chosen"] == picked
    assert script()["cues"][0]["text"] == first["candidates"][picked]["text"]
    assert driver.find_element(By.ID, "text-0").get_attribute("value") == first["candidates"][picked]["text"]

    # Later by 0.1 s, twice, then earlier once; focus stays on the description's heading.
    for label in ("0.1 s later", "0.1 s later", "0.1 s earlier"):
        before = revision()
        buttons(0)[label].send_keys(Keys.ENTER)
        WebDriverWait(driver, 20).until(lambda d: revision() != before)  # saved, and the page rebuilt
        assert status() == "Saved." and driver.switch_to.active_element.get_attribute("id") == "cue-0-heading"
    assert abs(script()["cues"][0]["start"] - (first["start"] + 0.1)) < 0.002, script()["cues"][0]

    # Play: the text is spoken (a WAV made and played in the page).
    buttons(0)["Play"].send_keys(Keys.ENTER)
    WebDriverWait(driver, 30).until(lambda d: status() == "Playing description 1.")

    # Delete the second description: its gap is listed silent, where a new one is added.
    gap = script()["cues"][1]["slot"]
    buttons(1)["Delete"].send_keys(Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: status().startswith("Deleted description 2"))
    assert len(script()["cues"]) == 1
    box = driver.find_element(By.ID, f"new-{gap}")
    box.send_keys("A blue bus waits at the kerb.")
    driver.find_element(By.CSS_SELECTOR, f"#gaps button[aria-describedby=gap-{gap}-heading]").send_keys(Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: status() == "Added description 2.")
    assert driver.switch_to.active_element.get_attribute("id") == "text-1"
    assert [c["text"] for c in script()["cues"] if c["slot"] == gap] == ["A blue bus waits at the kerb."]

    # Write again: the writer redoes that gap alone; the page follows the job and reloads.
    buttons(1)["Write again"].send_keys(Keys.ENTER)
    WebDriverWait(driver, 120, 0.5).until(lambda d: text_of(d, "job-status") == "Writing again: done")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.ID, "text-1").get_attribute("value") != "A blue bus waits at the kerb.")
    again = script()["cues"]
    assert again[1]["candidates"][0]["backend"] == "template" and again[0]["start"] == script()["cues"][0]["start"]
    assert abs(again[0]["start"] - (first["start"] + 0.1)) < 0.002  # the other description kept its edit
