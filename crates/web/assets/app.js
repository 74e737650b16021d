// adpool: progressive enhancement only; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-confirm]");
  if (button && !window.confirm(`${button.textContent.trim()}: ${button.dataset.confirm}?`)) {
    event.preventDefault();
  }
});
// Pages showing running jobs refresh themselves every 3 seconds until nothing is active.
if (document.querySelector('[data-refresh="true"]')) {
  setTimeout(() => window.location.reload(), 3000);
}
// Copy buttons: data-copy names the element whose text goes to the clipboard.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = source.value ?? source.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    source.select?.();
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = "✓";
  setTimeout(() => { button.textContent = label; }, 1200);
});
