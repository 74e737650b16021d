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
