/* The Displays admin page: click a slot, then a thumbnail; the slot takes its key and the next
 * slot of that orientation becomes active. The form still works without this script (keys typed). */
(function () {
  "use strict";
  var active = {};  // side → the slot <input> that the next pick fills

  function slotOf(input) { return input.closest(".slot"); }

  function activate(input) {
    var side = input.dataset.side;
    if (active[side]) { slotOf(active[side]).classList.remove("active"); }
    active[side] = input;
    slotOf(input).classList.add("active");
  }

  function setSlot(input, key, thumb) {
    input.value = key;
    var img = slotOf(input).querySelector(".slot-thumb");
    if (thumb) { img.src = thumb; img.hidden = false; } else { img.removeAttribute("src"); img.hidden = true; }
  }

  function firstSlot(side) {
    var inputs = document.querySelectorAll('.slot-key[data-side="' + side + '"]');
    for (var i = 0; i < inputs.length; i++) { if (!inputs[i].value) { return inputs[i]; } }
    return inputs[0];
  }

  document.querySelectorAll(".slot-key").forEach(function (input) {
    input.addEventListener("focus", function () { activate(input); });
    input.addEventListener("click", function () { activate(input); });
  });

  document.querySelectorAll(".slot-clear").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.clear);
      setSlot(input, "", "");
      activate(input);
    });
  });

  document.querySelectorAll(".pick").forEach(function (button) {
    button.addEventListener("click", function () {
      var side = button.dataset.side;
      var input = active[side] || firstSlot(side);
      setSlot(input, button.dataset.key, button.dataset.thumb);
      var inputs = Array.prototype.slice.call(document.querySelectorAll('.slot-key[data-side="' + side + '"]'));
      activate(inputs[(inputs.indexOf(input) + 1) % inputs.length]);
    });
  });
})();
