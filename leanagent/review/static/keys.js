/* Keyboard review for the leanagent review app (no libraries, no build step).
 *
 * j / k: next / previous proof (the list marks a row, and goes on to the next or previous page past
 *        its ends; the proof page follows its next/previous links, which walk the queue it was opened from).
 * a / r: accept / reject the current proof: the comment line (#key-form) opens, focused; Enter saves,
 *        Escape cancels. It posts to the same route as the proof page's form, with its CSRF token.
 * Keys are ignored while typing in a field or with Ctrl/Alt/Meta held. Without this script the pages
 * work as plain links and forms.
 */
(function () {
  "use strict";

  var form = document.getElementById("key-form");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#proofs tbody tr[data-id]"));
  var heading = document.getElementById("theorem-name"); // on the proof page only
  var current = -1;

  // Fields that take typed text (a radio button or a checkbox does not: keys still work after a click on one).
  var NOT_TEXT = ["radio", "checkbox", "button", "submit", "reset", "image", "range", "color", "file"];

  function typing(el) {
    if (!el || !el.tagName) {
      return false;
    }
    if (el.tagName === "INPUT") {
      return NOT_TEXT.indexOf((el.type || "").toLowerCase()) < 0;
    }
    return el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable;
  }

  function select(i) {
    i = Math.max(0, Math.min(rows.length - 1, i));
    if (current >= 0) {
      rows[current].classList.remove("current");
      rows[current].removeAttribute("aria-current");
    }
    current = i;
    rows[i].classList.add("current");
    rows[i].setAttribute("aria-current", "true");
    rows[i].scrollIntoView({block: "nearest"});
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (link) {
      window.location.assign(link.href);
    }
  }

  function move(step) {
    if (rows.length) {
      var next = current + step;
      if (current < 0) {
        select(step > 0 ? 0 : rows.length - 1); // nothing marked yet: j starts at the top, k at the bottom
      } else if (next >= rows.length || next < 0) {
        follow(step > 0 ? "next-page" : "prev-page"); // past the page's end: its neighbour page, if any
      } else {
        select(next);
      }
    } else if (heading) {
      follow(step > 0 ? "next-proof" : "prev-proof");
    }
  }

  function target() {
    if (rows.length) {
      return current < 0 ? null : {id: rows[current].dataset.id, name: rows[current].dataset.name};
    }
    return heading ? {id: heading.dataset.id, name: heading.textContent} : null;
  }

  function open(decision) {
    var t = target();
    if (!form || !t) {
      return;
    }
    form.action = "/proofs/" + encodeURIComponent(t.id) + "/review";
    form.elements.decision.value = decision;
    // On the proof page, the pick of the exported variant goes with the decision, as the big form sends it.
    var picked = document.querySelector("#review-form input[name=variant]:checked");
    form.elements.variant.value = picked ? picked.value : "";
    document.getElementById("key-what").textContent = (decision === "accepted" ? "Accept " : "Reject ") + t.name;
    form.hidden = false;
    // The name is remembered after the first decision; until then the line asks for it first.
    (form.elements.reviewer.value.trim() ? form.elements.comment : form.elements.reviewer).focus();
  }

  function cancel() {
    form.hidden = true;
    form.elements.comment.value = "";
    if (document.activeElement) {
      document.activeElement.blur();
    }
  }

  var keys = {
    j: function () { move(1); },
    k: function () { move(-1); },
    a: function () { open("accepted"); },
    r: function () { open("rejected"); }
  };

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) {
      return;
    }
    var act = keys[e.key];
    if (act) {
      e.preventDefault(); // the key must not also be typed into the field it focuses
      act();
    }
  });

  if (form) {
    form.addEventListener("keydown", function (e) {
      if (e.key === "Escape") {
        e.preventDefault();
        cancel();
      } else if (e.key === "Enter" && e.target === form.elements.reviewer && form.elements.reviewer.value.trim()) {
        e.preventDefault(); // Enter after the name goes on to the comment; Enter there saves
        form.elements.comment.focus();
      }
    });
  }

  for (var i = 0; i < rows.length; i++) {
    if (rows[i].classList.contains("current")) { // marked by the server after a decision (?at=)
      select(i);
    }
  }
  var help = document.getElementById("keys-help");
  if (help && form) {
    help.hidden = false;
  }
}());
