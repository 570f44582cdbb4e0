/**
 * What one Pebble expression or URI in a flow reaches (issue 29), one per flow so that no two findings
 * merge: which calls are read inside `{{ }}`/`{% %}` (quotes, brackets, interpolation, unclosed
 * tags), how arguments are split and named, which run-time paths are the execution's own files, and
 * which addresses are Kestra's own. Each line is the whole list of references, words included.
 */
import { describe, expect, it } from 'vitest';
import { analyseFlowSource } from '../../backend/authz/flow-references.js';
import { KestraHosts } from '../../backend/authz/kestra-hosts.js';

type Found = [resource: string, action: string, namespace: string | null, what: string];

/** The expression stands alone on line 15, in a literal block (so every finding is at line 15, column 1). */
function found(expression: string): Found[] {
  const source = `id: a
namespace: company.team
inputs:
  - id: up
    type: FILE
  - name: old
    type: FILE
  - id: s
    type: STRING
  - x
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Log
    message: |
      ${expression}
`;
  const r = analyseFlowSource(source, { kestraHosts: KestraHosts.of(['kestra.internal']) });
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.documents[0]!.references.map((x) => {
    expect([x.line, x.column]).toEqual([15, 1]);
    return [x.resource, x.action, x.namespace, x.what];
  });
}

describe('flow references: one expression at a time', () => {
  const cases: Array<[string, Found[]]> = [
    ["{{ read(inputs.up) }}", []],
    ["{{ read(inputs.old) }}", []],
    ["{{ read(inputs.s) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read( inputs.up ) }}", []],
    ["{{ read(inputs.up.x) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(inputs.x) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.t.uri) }}", []],
    ["{{ read(outputs.t-1.outputFiles.a-b) }}", []],
    ["{{ read(outputs.t.outputFiles['a b']) }}", []],
    ["{{ read(outputs.t.outputFiles[\"a.b\"]) }}", []],
    ["{{ read(outputs.t.outputFiles[ 'a' ]) }}", []],
    ["{{ read(outputs.t.outputFiles['{x']) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.t.outputFiles['x}']) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.t.outputFiles['\\'']) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.t.outputFiles[\"#x\"]) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.t.outputFiles[\"{x\"]) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.t.urix) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(xoutputs.t.uri) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.1.uri) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs._t.uri) }}", []],
    ["{{ read(outputs.t.outputFiles) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.t.outputFiles.) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read(outputs.t.outputFiles['a'].x) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ http('http://kestra.internal' ~ '/x') }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time ('http://kestra.internal' ~ '/x'), which may be Kestra's own"], ["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["{{ http('http://kestra.internal/' ~ x) }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["{{ http(\"http://kestra.internal?\" ~ x) }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["{{ http('http://kestra.internal#' ~ x) }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["{{ http('ftp://kestra.internal/' ~ x) }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time ('ftp://kestra.internal/' ~ x), which may be Kestra's own"]]],
    ["{{ http(' http://localhost/' ~ x) }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http('http://localhost/'~x) }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http( 'http://localhost/' ~ x) }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http(x ~ 'http://localhost/') }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time (x ~ 'http://localhost/'), which may be Kestra's own"], ["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http('http://{x}/' ~ y) }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time ('http://{x}/' ~ y), which may be Kestra's own"]]],
    ["{{ http('http://x}/' ~ y) }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time ('http://x}/' ~ y), which may be Kestra's own"]]],
    ["{{ http('http://%6bestra.internal/') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["{{ http('http://kestra%7b.internal/') }}", []],
    ["{{ http('http://kestra%zz.internal/') }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time ('http://kestra%zz.internal/'), which may be Kestra's own"]]],
    ["{{ http('http://[::1]/') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (::1) directly, past Perch"]]],
    ["{{ http('https://kestra.internal:8080/') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["{{ http('wss://localhost/') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http('HTTP://LOCALHOST/') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http('http:/localhost/') }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time ('http:/localhost/'), which may be Kestra's own"]]],
    ["{{ http('http://localhost') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http('http://localhost?x') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http('http://user@localhost/') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http(uri='http://localhost/', 'x') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http(method='GET', uri='http://localhost/') }}", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ http('http://example.com/') }}", []],
    ["{{ http('https://example.com/' ~ x) }}", []],
    ["{{ kv('a', namespace='x', namespace='y') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ((given twice))"]]],
    ["{{ kv('a', namespace='x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv(namespace == 'x') }}", [["KVSTORE", "VIEW", "company.team", "kv() reads the KV store of company.team"]]],
    ["{{ kv('a', ns='x') }}", [["KVSTORE", "VIEW", "company.team", "kv() reads the KV store of company.team"]]],
    ["{{ kv( 'a' , 'x' ) }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a', \"x\") }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a', 'x' ~ 'y') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ('x' ~ 'y')"]]],
    ["{{ kv('a', 'x{y') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ('x{y')"]]],
    ["{{ kv('a', x) }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace (x)"]]],
    ["{{ kv('a', '') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ('')"]]],
    ["{{ kv('a', 'b c') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ('b c')"]]],
    ["{{ kv('a', ) }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ()"]]],
    ["{{ kv('a', 'b', 'c') }}", [["KVSTORE", "VIEW", "b", "kv() reads the KV store of b"]]],
    ["{{ kv('a', [1, 2], 'x') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ([1, 2])"]]],
    ["{{ kv('a', {'k': 1}, 'x') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ({'k': 1})"]]],
    ["{{ kv('a', (1), 'x') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ((1))"]]],
    ["{{ kv('a', 'x', namespace='y') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ((given twice))"]]],
    ["{{ kv('a') }}", [["KVSTORE", "VIEW", "company.team", "kv() reads the KV store of company.team"]]],
    ["{{ kv() }}", [["KVSTORE", "VIEW", "company.team", "kv() reads the KV store of company.team"]]],
    ["{{ kv('a,b', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv(\"a,b\", 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a\\',b', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv(\"a\\\",b\", 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a' 'b', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a', 'x') | upper }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a', 'x'", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a'", [["KVSTORE", "VIEW", "company.team", "kv() reads the KV store of company.team"]]],
    ["{{ kv('a', 'x')) }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a', 'x']) }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv(key='a', namespace = 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv(key='a', namespace='x', key='b') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv(_k='a', namespace='x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv(k1='a', namespace='x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv(1k='a', namespace='x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ subflow(namespace='x', id='f') }}", [["FLOW", "EXECUTE", "x", "subflow() runs a flow of x"]]],
    ["{{ subflow('x') }}", [["FLOW", "EXECUTE", "x", "subflow() runs a flow of x"]]],
    ["{{ subflow(x, 'f') }}", [["FLOW", "EXECUTE", null, "subflow() runs a flow of a dynamic namespace (x)"]]],
    ["{{ subflow('bad name', 'f') }}", [["FLOW", "EXECUTE", null, "subflow() runs a flow of a dynamic namespace ('bad name')"]]],
    ["{{ subflow('x', namespace='y') }}", [["FLOW", "EXECUTE", null, "subflow() runs a flow of a dynamic namespace ((given twice))"]]],
    ["{{ subflow() }}", [["FLOW", "EXECUTE", null, "subflow() runs a flow of a dynamic namespace (none given)"]]],
    ["{{ http() }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time (none given), which may be Kestra's own"]]],
    ["{{ read('a', 'b') }}", [["NAMESPACE", "MANAGE_FILES", "b", "read() opens the files of b"]]],
    ["{{ read(path='a') }}", [["NAMESPACE", "MANAGE_FILES", "company.team", "read() opens the files of company.team"]]],
    ["{{ read(path='a', namespace='b') }}", [["NAMESPACE", "MANAGE_FILES", "b", "read() opens the files of b"]]],
    ["{{ read('a', namespace='b', 'c') }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens the files of a namespace known only at run time"]]],
    ["{{ read('a', 'b', namespace='c') }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens the files of a namespace known only at run time"]]],
    ["{{ fileURI('a' ~ b) }}", [["NAMESPACE", "MANAGE_FILES", null, "fileURI() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "fileURI() opens a file whose path is built at run time"]]],
    ["{{ read() }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ other('a', 'b') }}", []],
    ["{{ other(namespace='a b') }}", [["FLOW", "UPDATE", null, "other() acts on a dynamic namespace ('a b')"]]],
    ["{{ other(namespace='a') }}", [["FLOW", "UPDATE", "a", "other() acts on a"]]],
    ["{{ $kv('a', 'x') }}", []],
    ["{{ a.kv('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ akv('a', 'x') }}", []],
    ["{{ kv ('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv\t('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ _kv('a', 'x') }}", []],
    ["{{ secret('a', 'b') }}", [["SECRET", "VIEW", null, "secret('a') reads an instance-wide secret"]]],
    ["{{ secret(name='x') }}", [["SECRET", "VIEW", null, "secret() names its secret at run time"]]],
    ["{{ render('x') }}", [["KVSTORE", "VIEW", null, "render() evaluates an expression known only at run time"], ["NAMESPACE", "MANAGE_FILES", null, "render() evaluates an expression known only at run time"], ["SECRET", "VIEW", null, "render() evaluates an expression known only at run time"]]],
    ["{{ renderOnce('x') }}", [["KVSTORE", "VIEW", null, "renderOnce() evaluates an expression known only at run time"], ["NAMESPACE", "MANAGE_FILES", null, "renderOnce() evaluates an expression known only at run time"], ["SECRET", "VIEW", null, "renderOnce() evaluates an expression known only at run time"]]],
    ["{% kv('a', 'x') %}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ x }}} kv('b', 'y')", []],
    ["{{ '\\\\' }}' ~ kv('c', 'z') }}", []],
    ["{%x kv('d','w') %}", [["KVSTORE", "VIEW", "w", "kv() reads the KV store of w"]]],
    ["{ { kv('a', 'x') }}", []],
    ["{{ x }} kv('b', 'y')", []],
    ["{{ x }}{{ kv('a', 'x') }}{% kv('b', 'y') %}kv('c', 'z')", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"], ["KVSTORE", "VIEW", "y", "kv() reads the KV store of y"]]],
    ["{{ '#{' ~ kv('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ \"#\" ~ kv('b', 'y') }}", [["KVSTORE", "VIEW", "y", "kv() reads the KV store of y"]]],
    ["{{ \"{\" ~ kv('c', 'z') }}", [["KVSTORE", "VIEW", "z", "kv() reads the KV store of z"]]],
    ["{{ \"#{ 1 }\" }} kv('a', 'x')", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ '#{ 1 }' }} kv('a', 'x')", []],
    ["{{ \"\\\"\" }} kv('a', 'x')", []],
    ["{{ \"\\\"}}\" ~ kv('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ [1, 2] ~ kv('a', 'x') }} kv('b', 'y')", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ (1) ~ kv('c', 'z') }} kv('d', 'w')", [["KVSTORE", "VIEW", "z", "kv() reads the KV store of z"]]],
    ["{{ ) ~ kv('a', 'x') }} kv('b', 'y')", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ ] }} kv('c', 'z')", []],
    ["{{ } }} kv('c', 'z')", []],
    ["{{ x }}kv('a', 'x'){{", []],
    ["{{ x %} kv('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{% x }} kv('a', 'x') %}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ x } } kv('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ x }} {{ kv('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["kv('a', 'x') {{ x }}", []],
    ["{{kv('a', 'x')}}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["nsfile:///a", [["NAMESPACE", "MANAGE_FILES", "company.team", "nsfile:// reads the files of company.team"]]],
    ["nsfile://x/a", [["NAMESPACE", "MANAGE_FILES", "x", "nsfile:// reads the files of x"]]],
    ["nsfile://x", [["NAMESPACE", "MANAGE_FILES", null, "nsfile:// reads the files of a dynamic namespace (nsfile://x)"]]],
    ["nsfile://x\"y", [["NAMESPACE", "MANAGE_FILES", null, "nsfile:// reads the files of a dynamic namespace (nsfile://x\")"]]],
    ["nsfile://x'y", [["NAMESPACE", "MANAGE_FILES", null, "nsfile:// reads the files of a dynamic namespace (nsfile://x')"]]],
    ["nsfile://x(y", [["NAMESPACE", "MANAGE_FILES", null, "nsfile:// reads the files of a dynamic namespace (nsfile://x()"]]],
    ["nsfile://x)y", [["NAMESPACE", "MANAGE_FILES", null, "nsfile:// reads the files of a dynamic namespace (nsfile://x))"]]],
    ["NSFILE://y/a", [["NAMESPACE", "MANAGE_FILES", "y", "nsfile:// reads the files of y"]]],
    ["nsfile://x y", [["NAMESPACE", "MANAGE_FILES", null, "nsfile:// reads the files of a dynamic namespace (nsfile://x )"]]],
    ["nsfile://x.y-z_1/a", [["NAMESPACE", "MANAGE_FILES", "x.y-z_1", "nsfile:// reads the files of x.y-z_1"]]],
    ["nsfile://x/", [["NAMESPACE", "MANAGE_FILES", "x", "nsfile:// reads the files of x"]]],
    ["nsfile:///", [["NAMESPACE", "MANAGE_FILES", "company.team", "nsfile:// reads the files of company.team"]]],
    ["nsfile://", [["NAMESPACE", "MANAGE_FILES", null, "nsfile:// reads the files of a dynamic namespace (nsfile://)"]]],
    ["kestra:///a/b/f/executions/1/x'", [["EXECUTION", "ACCESS_FILES", "a.b", "kestra:///a/b/f/executions/1/x is a file of an execution in a.b"]]],
    ["kestra:///c/f/executions/1/x\"", [["EXECUTION", "ACCESS_FILES", "c", "kestra:///c/f/executions/1/x is a file of an execution in c"]]],
    ["kestra:///d/f/executions/1/x)", [["EXECUTION", "ACCESS_FILES", "d", "kestra:///d/f/executions/1/x is a file of an execution in d"]]],
    ["kestra:///e/f/executions/1/x(", [["EXECUTION", "ACCESS_FILES", "e", "kestra:///e/f/executions/1/x is a file of an execution in e"]]],
    ["kestra:///g/f/executions/1/x<", [["EXECUTION", "ACCESS_FILES", "g", "kestra:///g/f/executions/1/x is a file of an execution in g"]]],
    ["kestra:///h/f/executions/1/x>", [["EXECUTION", "ACCESS_FILES", "h", "kestra:///h/f/executions/1/x is a file of an execution in h"]]],
    ["kestra:///i/f/executions/1/x,", [["EXECUTION", "ACCESS_FILES", "i", "kestra:///i/f/executions/1/x is a file of an execution in i"]]],
    ["kestra:///j/f/executions/1/x|", [["EXECUTION", "ACCESS_FILES", "j", "kestra:///j/f/executions/1/x is a file of an execution in j"]]],
    ["kestra:///l/f/executions/1/x y", [["EXECUTION", "ACCESS_FILES", "l", "kestra:///l/f/executions/1/x is a file of an execution in l"]]],
    ["KESTRA:///k/f/executions/1/x", [["EXECUTION", "ACCESS_FILES", null, "KESTRA:///k/f/executions/1/x is a storage URI Perch cannot place in one namespace"]]],
    ["kestra:/a", [["EXECUTION", "ACCESS_FILES", null, "kestra:/a is a storage URI Perch cannot place in one namespace"]]],
    ["http://localhost/a", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["https://kestra.internal", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["ws://localhost", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["WSS://127.0.0.1", [["FLOW", "UPDATE", null, "calls Kestra's own address (127.0.0.1) directly, past Perch"]]],
    ["ftp://localhost", []],
    ["xhttp://localhost", []],
    ["http://localhost'x", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["http://example.com/localhost", []],
    ["http://{{ x }}/", []],
    ["http://a%7b/", []],
    ["http://a%7B/", []],
    ["http://a%/", []],
    ["http://localhost%2f/", []],
    ["https://kestra.internal`x", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["http://localhost<x", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["http://localhost>x", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["http://localhost\"x", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["http://a\\localhost/", []],
    ["http://kestra.internal?x", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["http://kestra.internal#x", [["FLOW", "UPDATE", null, "calls Kestra's own address (kestra.internal) directly, past Perch"]]],
    ["http://localhost:8080", [["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ subflow( inputs.ns , 'f') }}", [["FLOW", "EXECUTE", null, "subflow() runs a flow of a dynamic namespace (inputs.ns)"]]],
    ["{{ http( inputs.u ) }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time (inputs.u), which may be Kestra's own"]]],
    ["{{ other(namespace= x ) }}", [["FLOW", "UPDATE", null, "other() acts on a dynamic namespace (x)"]]],
    ["{{ read(outputs.t.outputFiles[ \"a\" ]) }}", []],
    ["{{ read(xinputs.up) }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ http(x ~ 'http://localhost/' ~ y) }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time (x ~ 'http://localhost/' ~ y), which may be Kestra's own"], ["FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"]]],
    ["{{ \"a{\" }} kv('a', 'x')", []],
    ["{{ \"#\" }} kv('a', 'x')", []],
    ["{{ '}}' ~ kv('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ \"}}\" ~ kv('a', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ (( ) }} kv('a', 'x')", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ kv('a', 'x\\'y') }}", [["KVSTORE", "VIEW", null, "kv() reads the KV store of a dynamic namespace ('x\\'y')"]]],
    ["{{ http( ) }}", [["FLOW", "UPDATE", null, "http() calls an address known only at run time (none given), which may be Kestra's own"]]],
    ["{{ subflow( ) }}", [["FLOW", "EXECUTE", null, "subflow() runs a flow of a dynamic namespace (none given)"]]],
    ["{{ kv('a=b', 'x') }}", [["KVSTORE", "VIEW", "x", "kv() reads the KV store of x"]]],
    ["{{ read('a{b') }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
    ["{{ read('a\\b') }}", [["NAMESPACE", "MANAGE_FILES", null, "read() opens a file whose path is built at run time"], ["EXECUTION", "ACCESS_FILES", null, "read() opens a file whose path is built at run time"]]],
  ];
  it.each(cases)('%s', (expression, expected) => {
    expect(found(expression)).toEqual(expected);
  });

  it('reads a backslash that ends the text inside a quote as nothing more', () => {
    // The scalar is `{{ kv('a', 'x\` : the escape has no character after it.
    const r = analyseFlowSource(`id: a\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ kv('a', 'x\\\\"\n`);
    expect(r.ok && r.documents[0]!.references).toEqual([
      { line: 6, column: 14, resource: 'KVSTORE', action: 'VIEW', namespace: null, what: "kv() reads the KV store of a dynamic namespace ('x\\)" },
    ]);
  });
});
