/* Live progress for generation jobs in the admin (list and detail): polls one small JSON view
 * while any job on the page is unfinished; reloads the page when one finishes so its images and
 * buttons show. Plain JS, no build step; words from the static JavaScript catalog the job pages load. */
(function () {
  "use strict";
  // The job states as the admin's list names them (GenerationJob.Status labels).
  const STATUS = {
    queued: gettext("Queued"),
    running: gettext("Running"),
    succeeded: gettext("Succeeded"),
    failed: gettext("Failed"),
    cancelled: gettext("Cancelled"),
  };
  function duration(seconds) {
    if (seconds < 90) return interpolate(gettext("%s s"), [seconds]);
    return interpolate(gettext("%s min"), [Math.round(seconds / 60)]);
  }
  function progressUrl() {
    // The change list is /admin/generation/generationjob/, a job page is …/<uuid>/change/.
    const base = window.location.pathname.replace(/[0-9a-f-]{36}\/change\/$/, "");
    return base + "progress/";
  }
  function tick() {
    const open = Array.from(document.querySelectorAll(".job-progress[data-finished='0']"));
    if (!open.length) return;
    const query = open.map((el) => "id=" + encodeURIComponent(el.dataset.job)).join("&");
    fetch(progressUrl() + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => {
        let finished = false;
        for (const job of data.jobs) {
          document.querySelectorAll(`.job-progress[data-job='${job.id}']`).forEach((el) => {
            el.querySelector("progress").value = job.progress;
            const where = job.queue_position ? " · " + interpolate(gettext("#%s in queue"), [job.queue_position]) : "";
            // While running: the stage (loading the model, painting, decoding/checking/storing), not just "Running".
            const state = job.status === "running" && job.stage_text ? job.stage_text : STATUS[job.status] || job.status;
            // The percentage is the share of the job's time done (generation.progress): shown while painting.
            const percent = job.stage === "painting" ? ` · ${Math.round(job.progress * 100)}%` : "";
            // Under a second left the stage says what the job still does: never "about 0 s left".
            // No estimate yet (the first run on a model): the reason, never nothing.
            const left = job.estimate_seconds >= 1 ? " · " + interpolate(gettext("about %s left"), [duration(job.estimate_seconds)])
              : job.estimate_missing ? " · " + job.estimate_missing : "";
            el.querySelector(".job-progress-text").textContent = `${state}${percent}${where}${left}`;
            if (job.finished) {
              el.dataset.finished = "1";
              finished = true;
            }
          });
          // The row's one count of pictures (the images column), from the same answer as its progress.
          document.querySelectorAll(`.job-images[data-job='${job.id}']`).forEach((el) => {
            el.textContent = `${job.images_done}/${job.images_total}`;
          });
        }
        if (finished) window.location.reload();
        else window.setTimeout(tick, 1500);
      })
      .catch(() => window.setTimeout(tick, 5000));
  }
  function followModelDefaults() {
    // The bulk form: steps and guidance start from the chosen model's defaults (curation.forms).
    const model = document.querySelector("select[name='model'][data-defaults]");
    if (!model) return;
    const defaults = JSON.parse(model.dataset.defaults);
    model.addEventListener("change", () => {
      const chosen = defaults[model.value] || defaults[""];
      for (const name of ["steps", "guidance"]) {
        const input = document.querySelector(`input[name='${name}']`);
        if (input && chosen) input.value = chosen[name];
      }
    });
  }
  function followPlan() {
    // The bulk form: what Generate would start (jobs, pictures, one pass or the hires fix's two),
    // asked of the server as the fields change, so the form says it before anything starts.
    const form = document.getElementById("generate-form");
    const plan = document.getElementById("generate-plan");
    if (!form || !plan) return;
    let timer = null;
    const ask = () => {
      const query = new URLSearchParams(new FormData(form));
      query.delete("csrfmiddlewaretoken");
      fetch(plan.dataset.url + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((data) => {
          plan.textContent = data.plan;
        })
        .catch(() => {});  // the plan stays as it was; Generate still validates everything
    };
    const later = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 250);
    };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    ask();
  }
  document.addEventListener("DOMContentLoaded", () => {
    followModelDefaults();
    followPlan();
    window.setTimeout(tick, 500);
  });
})();
