// Runs before the page paints so night light never flashes bright. Kept tiny on purpose.
try {
  if (localStorage.getItem("companion.night") === "1") document.documentElement.classList.add("night");
} catch (e) { /* storage blocked: stay in the default dark theme */ }
