// Property names the bundle may shorten (esbuild `mangleProps`): about 8 % of the minified bytes.
//
// A property is renamed only when nothing outside Midge's own code can see its name:
// - it is a property name somewhere in src/ (declared, assigned or read);
// - it never occurs as a word in any string or template in src/ (so no dynamic `obj[name]`,
//   option tables, JSON or log text depends on it);
// - it never occurs in the declarations of Node, TypeScript's libs, ws (bundled as is),
//   serialport or onoff (so nothing handed to or received from them is renamed), nor in
//   boards/*.json (bundled data);
// - it is camelCase (two words or more): see the filter below.
// Persistence and the wire never store property names (binary formats), so builds with
// different lists still read each other's files. Tests run the sources unmangled and the bundle
// tests (test/build, */bundle.test.ts) run mangled bundles.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

function files(dir, keep, acc = []) {
  if (!existsSync(dir)) return acc;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) files(p, keep, acc);
    else if (keep(p)) acc.push(p);
  }
  return acc;
}

function addWords(text, set) {
  for (const m of text.matchAll(/[A-Za-z_$][\w$]*/g)) set.add(m[0]);
}

let cached;

/** A RegExp for esbuild's mangleProps, computed once per process. */
export function mangleable(root) {
  if (cached) return cached;
  const outside = new Set();
  const nm = (p) => join(root, 'node_modules', p);
  const dts = (p) => p.endsWith('.d.ts');
  for (const f of [
    ...files(nm('@types'), dts),
    ...files(nm('typescript/lib'), (p) => /lib\.[^/]*\.d\.ts$/.test(p)),
    ...files(nm('ws'), (p) => p.endsWith('.js')),
    ...files(nm('serialport'), dts),
    ...files(nm('@serialport'), dts),
    ...files(nm('onoff'), dts),
    ...files(join(root, 'boards'), (p) => p.endsWith('.json')),
  ]) addWords(readFileSync(f, 'utf8'), outside);

  const props = new Set();
  const quoted = new Set();
  const K = ts.SyntaxKind;
  for (const f of files(join(root, 'src'), (p) => p.endsWith('.ts'))) {
    const visit = (n) => {
      if (ts.isStringLiteralLike(n) || n.kind === K.TemplateHead || n.kind === K.TemplateMiddle || n.kind === K.TemplateTail) {
        addWords(n.text, quoted);
      } else if (ts.isPropertyAccessExpression(n)) {
        if (ts.isIdentifier(n.name)) props.add(n.name.text);
      } else if (
        (ts.isPropertyDeclaration(n) || ts.isPropertySignature(n) || ts.isMethodDeclaration(n) || ts.isMethodSignature(n) ||
          ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n) ||
          (ts.isParameter(n) && n.modifiers?.length) || (ts.isBindingElement(n) && !n.propertyName)) &&
        n.name && ts.isIdentifier(n.name)
      ) {
        props.add(n.name.text);
      }
      ts.forEachChild(n, visit);
    };
    visit(ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true));
  }
  // camelCase only: lower-case and snake_case names are also how data is keyed (option names in
  // lookup tables such as `sys_interval: [...]`, formats, board names), read by dynamic keys.
  const names = [...props].filter((n) => /^[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*$/.test(n) && !outside.has(n) && !quoted.has(n)).sort();
  cached = new RegExp(`^(?:${names.join('|')})$`);
  return cached;
}
