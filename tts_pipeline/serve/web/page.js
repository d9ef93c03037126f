// Chapter and transcript links seek the episode's own player; nothing else runs on the page.
"use strict";

function seek(audio, start) {
  const go = () => {
    audio.currentTime = start;
    // Autoplay rules may refuse play(); the seek has happened either way.
    audio.play().catch(() => {});
  };
  if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) {
    go();
  } else {
    audio.addEventListener("loadedmetadata", go, { once: true });
    audio.load();
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-start]");
  const episode = link && link.closest(".episode");
  const audio = episode && episode.querySelector("audio");
  if (!audio) {
    return;
  }
  event.preventDefault();
  seek(audio, Number(link.dataset.start));
});

// Mark the chapter being heard.
document.querySelectorAll(".episode").forEach((episode) => {
  const audio = episode.querySelector("audio");
  const links = Array.from(episode.querySelectorAll(".chapters [data-start]"));
  if (!audio || links.length === 0) {
    return;
  }
  audio.addEventListener("timeupdate", () => {
    let current = null;
    for (const link of links) {
      if (Number(link.dataset.start) <= audio.currentTime + 0.05) {
        current = link;
      }
    }
    links.forEach((link) => link.classList.toggle("current", link === current));
  });
});
