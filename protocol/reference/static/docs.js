// The /docs search box: shows only the commands whose name, parameters or codes contain every typed word.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var input = document.getElementById("search");
  var count = document.getElementById("search-count");
  var articles = Array.prototype.slice.call(document.querySelectorAll("article.command"));
  var areas = Array.prototype.slice.call(document.querySelectorAll("section.area"));
  var navItems = Array.prototype.slice.call(document.querySelectorAll("#contents li[data-command]"));
  var navAreas = Array.prototype.slice.call(document.querySelectorAll("#contents .nav-area"));

  function filter() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = {};
    articles.forEach(function (article) {
      var text = article.getAttribute("data-search").toLowerCase();
      var match = words.every(function (word) { return text.indexOf(word) !== -1; });
      article.hidden = !match;
      if (match) { shown[article.id] = true; }
    });
    areas.forEach(function (area) { area.hidden = !area.querySelector("article.command:not([hidden])"); });
    navItems.forEach(function (item) { item.hidden = !shown[item.getAttribute("data-command")]; });
    navAreas.forEach(function (area) { area.hidden = !area.querySelector("li:not([hidden])"); });
    count.textContent = words.length ? Object.keys(shown).length + " of " + articles.length + " commands" : "";
  }

  input.addEventListener("input", filter);
  filter();   // a value the browser restored on "back"
});
