// "返回上一页" on pages without the platform's scripts (error pages): the Content-Security-Policy
// forbids javascript: links, so the link points home and this turns it into a history step.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-history-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
