// Marks the first painted frame, as the Telos world does, for the cold-start benchmark.
requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset.ready = "true"; }));
