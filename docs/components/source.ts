// Showing real source text on a page: excerpt one function from a file and render it
// with light highlighting (comments dimmed, keywords bold). The text always comes
// from the files themselves (FileAttachment, or the KERNELS map generated from
// kernels/*.wgsl), so the page cannot drift from the code.

/** The lines of `export function name(` (or `fn name(` in WGSL) through its closing brace, with the comment above it. */
export function excerpt(source: string, name: string): string | null {
  const lines = source.split("\n");
  const start = lines.findIndex((l) =>
    new RegExp(`^(export\\s+)?(async\\s+)?(function\\s+|fn\\s+)${name}\\s*[(<]`).test(l) ||
    new RegExp(`^\\s+(async\\s+)?${name}\\s*\\(.*\\)[^;]*\\{\\s*$`).test(l));
  if (start < 0) return null;
  const indent = /^\s*/.exec(lines[start]!)![0];
  let end = -1;
  for (let i = start; i < lines.length; i++) {
    if (lines[i] === `${indent}}`) { end = i; break; }
    if (i === start && /\}\s*$/.test(lines[i]!) && !/\{\s*$/.test(lines[i]!)) { end = i; break; }
  }
  if (end < 0) return null;
  let first = start;
  while (first > 0 && /^\s*(\/\/|\/\*\*|\*|\*\/|@)/.test(lines[first - 1]!)) first--;
  return lines.slice(first, end + 1).map((l) => l.slice(indent.length)).join("\n");
}

const KEYWORDS = new Set([
  // TypeScript
  "export", "function", "const", "let", "for", "if", "else", "return", "of", "new", "while", "break", "continue", "type", "import", "from",
  // WGSL
  "fn", "var", "struct", "loop", "workgroupBarrier", "override", "alias",
]);

function escape(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

/** A <pre> with comments dimmed and keywords bold (no dependencies, no CDN). */
export function codeBlock(text: string, label: string): HTMLElement {
  const pre = document.createElement("pre");
  pre.className = "r1-source";
  pre.setAttribute("aria-label", label);
  const html = text.split("\n").map((line) => {
    const c = line.indexOf("//");
    const code = c >= 0 ? line.slice(0, c) : line;
    const comment = c >= 0 ? line.slice(c) : "";
    const body = escape(code).replace(/\b([A-Za-z_]\w*)\b/g, (w) => (KEYWORDS.has(w) ? `<b>${w}</b>` : w))
      .replace(/(@\w+)/g, '<span style="color:var(--r1-accent)">$1</span>');
    return body + (comment ? `<span class="r1-muted">${escape(comment)}</span>` : "");
  }).join("\n");
  pre.innerHTML = html;
  return pre;
}
