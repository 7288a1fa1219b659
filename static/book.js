// Loaded on every page through html_js_files in _config.yml.

// The sidebar buttons. pydata-sphinx-theme (and sphinx-book-theme after it) binds its handlers to
// the first `.primary-toggle` and `.secondary-toggle` of the page, which are those of the header
// bar that book.css hides; the buttons a reader sees, in the article's own header bar, then do
// nothing (on a phone, the menu never opens). Each visible button passes its click on to the
// bound one.
document.addEventListener("DOMContentLoaded", () => {
  for (const name of ["primary-toggle", "secondary-toggle"]) {
    const [bound, ...others] = document.querySelectorAll(`.${name}`);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    }
  }
});
