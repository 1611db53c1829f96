/**
 * The observer's one HTML page: a shell the bundle fills (it builds every element with
 * `textContent`, never markup from data).
 *
 * @internal
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rain observer</title>
<link rel="stylesheet" href="/assets/observer.css">
<script src="/assets/observer.js" defer></script>
</head>
<body>
<header id="top"><strong>Rain observer</strong> <label>node <select id="node"></select></label>
<nav id="tabs"></nav><span id="mode"></span></header>
<main id="view"><p>Loading…</p></main>
<p id="error" role="alert" hidden></p>
</body>
</html>
`
