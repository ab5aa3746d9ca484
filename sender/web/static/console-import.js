// The console import's progress bar (console_import.html): asks the job's status URL until
// the import is finished and shows its answer. Text only (textContent), never HTML.
(() => {
  "use strict";
  const box = document.getElementById("import");
  if (!box) return;
  const byId = (id) => document.getElementById(id);
  const bar = byId("import-bar"), state = byId("import-state"), heading = byId("import-heading");
  const notes = byId("import-notes"), lines = byId("import-lines"), linesHeading = byId("import-lines-heading");

  const show = (d) => {
    bar.max = Math.max(d.total, 1);
    bar.value = d.total ? d.done : (d.finished ? 1 : 0);
    bar.textContent = `${d.done} of ${d.total}`;
    heading.textContent = d.heading;
    document.title = document.title.replace(/^[^·]*·/, `${d.heading} ·`);
    state.textContent = d.text;
    box.dataset.state = d.status;
    notes.replaceChildren(...d.notes.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
    const more = d.more ? `\n… and ${d.more} more: reload the page when the import is done to see them all\n` : "";
    lines.textContent = d.lines.map((line) => line + "\n").join("") + more;
    lines.hidden = linesHeading.hidden = !d.lines.length;
    if (d.finished) { const hint = byId("import-hint"); if (hint) hint.remove(); }
  };

  let failures = 0;
  const poll = () => {
    fetch(box.dataset.statusUrl, {headers: {Accept: "application/json"}, cache: "no-store"})
      .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.json(); })
      .then((d) => { failures = 0; show(d); if (!d.finished) setTimeout(poll, 700); })
      .catch(() => { failures += 1; setTimeout(poll, Math.min(10000, 1000 * failures)); });  // server restarting?
  };
  setTimeout(poll, 300);
})();
