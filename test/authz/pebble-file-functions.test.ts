/**
 * backend/authz/pebble-file-functions.ts on its own (issue 29): which namespace a literal storage URI
 * lies in, and what each argument shape of a Pebble file function opens.
 */
import { describe, expect, it } from 'vitest';
import { fileFunctionTargets, FILE_FUNCTIONS, storageUriTarget } from '../../backend/authz/pebble-file-functions.js';

describe('storageUriTarget', () => {
  const placed = (uri: string, namespace: string) => ({ resource: 'EXECUTION', action: 'ACCESS_FILES', namespace, what: `${uri} is a file of an execution in ${namespace}` });
  const unplaced = (uri: string) => ({ resource: 'EXECUTION', action: 'ACCESS_FILES', namespace: null, what: `${uri} is a storage URI Perch cannot place in one namespace` });

  it.each([
    ['kestra:///a/b/f/executions/1/x', 'a.b'],
    ['kestra:///a.b/f/executions/1/x', 'a.b'],
    ['kestra:///a/f/executions/1/tasks', 'a'],
  ])('places %s in %s', (uri, namespace) => {
    expect(storageUriTarget(uri, 'company.team')).toEqual(placed(uri, namespace));
  });

  it('reads a file under the own namespace’s _files/ as a namespace file', () => {
    expect(storageUriTarget('kestra:///company/team/_files/a', 'company.team'))
      .toEqual({ resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: 'company.team', what: 'kestra:///company/team/_files/a is a namespace file of company.team' });
  });

  it.each([
    ['no namespace before the flow', 'kestra:///f/executions/1/x'],
    ['no file after the execution', 'kestra:///a/f/executions/1'],
    ['an empty last segment', 'kestra:///a/f/executions/1/'],
    ['two executions segments', 'kestra:///a/b/f/executions/1/executions/2/x'],
    ['an empty file under _files/', 'kestra:///company/team/_files/'],
    ['another namespace’s _files/', 'kestra:///company/teamx/_files/a'],
    ['a climb out of _files/', 'kestra:///company/team/_files/../../x/f/executions/1/x'],
    ['an empty segment', 'kestra:///a//f/executions/1/x'],
    ['a dot segment', 'kestra:///a/./f/executions/1/x'],
    ['an escape', 'kestra:///a/f/executions/1/x%2e'],
    ['a backslash', 'kestra:///a/f/executions/1/x\\y'],
    ['braces', 'kestra:///a/f/executions/1/{x}'],
    ['an opening brace only', 'kestra:///a/f/executions/1/{x'],
    ['a closing brace only', 'kestra:///a/f/executions/1/x}'],
    ['a space', 'kestra:///a/f/executions/1/x y'],
    ['a namespace that is no name', 'kestra:///-a/f/executions/1/x'],
    ['an authority', 'kestra://a/f/executions/1/x'],
  ])('cannot place a URI with %s', (_name, uri) => {
    expect(storageUriTarget(uri, 'company.team')).toEqual(unplaced(uri));
  });
});

describe('fileFunctionTargets', () => {
  const ns = (namespace: string | null, what: string) => ({ resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace, what });
  const builtAtRunTime = [ns(null, 'read() opens a file whose path is built at run time'), { resource: 'EXECUTION', action: 'ACCESS_FILES', namespace: null, what: 'read() opens a file whose path is built at run time' }];

  it('knows the file functions of Kestra 2.0', () => {
    expect([...FILE_FUNCTIONS].sort()).toEqual(['fileEmpty', 'fileExists', 'fileSize', 'fileURI', 'isFileEmpty', 'read']);
  });

  it('opens a bare path in the own namespace, or in namespace=', () => {
    expect(fileFunctionTargets('fileSize', 'a', undefined, 'own.ns', false)).toEqual([ns('own.ns', 'fileSize() opens the files of own.ns')]);
    expect(fileFunctionTargets('read', 'a', 'x', 'own.ns', false)).toEqual([ns('x', 'read() opens the files of x')]);
    // Not a scheme (none, or one starting with a digit, or after a slash) and not a climb: a plain name.
    for (const path of ['1a:x', 'a/..b', '..a', 'x/kestra:///a', 'x/nsfile://a', 'a/file:x']) expect(fileFunctionTargets('read', path, undefined, 'own.ns', false)).toEqual([ns('own.ns', 'read() opens the files of own.ns')]);
  });

  it('cannot place a dynamic or malformed namespace=', () => {
    expect(fileFunctionTargets('read', 'a', null, 'own.ns', false)).toEqual([ns(null, 'read() opens the files of a namespace known only at run time')]);
    expect(fileFunctionTargets('read', 'a', 'bad name', 'own.ns', false)).toEqual([ns(null, 'read() opens the files of a malformed namespace (bad name)')]);
    expect(fileFunctionTargets('read', null, '-x', 'own.ns', true)).toEqual([ns(null, 'read() opens the files of a malformed namespace (-x)')]);
  });

  it('lets a run-time path proven to be the execution’s own file through, unless namespace= sends it elsewhere', () => {
    expect(fileFunctionTargets('read', null, undefined, 'own.ns', true)).toEqual([]);
    expect(fileFunctionTargets('read', null, 'x', 'own.ns', true)).toEqual(builtAtRunTime);
    expect(fileFunctionTargets('read', null, undefined, 'own.ns', false)).toEqual(builtAtRunTime);
  });

  it('leaves storage and nsfile URIs to the URI checks, except for the namespace= they are sent to', () => {
    expect(fileFunctionTargets('read', 'kestra:///a', undefined, 'own.ns', false)).toEqual([]);
    expect(fileFunctionTargets('read', 'kestra:///a', 'x', 'own.ns', false)).toEqual([ns('x', 'read() opens the files of x')]);
    expect(fileFunctionTargets('read', 'nsfile:///a', 'x', 'own.ns', false)).toEqual([ns('x', 'read() opens the files of x')]);
    expect(fileFunctionTargets('read', 'NSFILE:///a', 'x', 'own.ns', false)).toEqual([ns('x', 'read() opens the files of x')]);
    expect(fileFunctionTargets('read', 'nsfile://y/a', 'x', 'own.ns', false)).toEqual([]);
    expect(fileFunctionTargets('read', 'nsfile://y/a', undefined, 'own.ns', false)).toEqual([]);
    // Only an authority right after nsfile:// names the namespace; one further along does not.
    expect(fileFunctionTargets('read', 'nsfile:///nsfile://y', 'x', 'own.ns', false)).toEqual([ns('x', 'read() opens the files of x')]);
    // kestra:// with an authority is no storage URI Kestra opens: another scheme.
    expect(fileFunctionTargets('read', 'kestra://a', 'x', 'own.ns', false)).toEqual([ns(null, 'read() opens kestra://a, a URI Perch cannot place in one namespace')]);
  });

  it('reads a file: path as a file of the Kestra server, any other scheme as unplaceable', () => {
    expect(fileFunctionTargets('read', 'FILE:/etc', undefined, 'own.ns', false)).toEqual([{ resource: 'FLOW', action: 'UPDATE', namespace: null, what: 'read() opens FILE:/etc, a file of the Kestra server itself' }]);
    for (const path of ['s3:a', 'a+b.c-d:x', 'Z9:x']) expect(fileFunctionTargets('read', path, 'x', 'own.ns', false)).toEqual([ns(null, `read() opens ${path}, a URI Perch cannot place in one namespace`)]);
  });

  it('cannot place a path with escapes, backslashes or a climb', () => {
    for (const path of ['a%2f', 'a\\b', 'a/../b', '..']) expect(fileFunctionTargets('read', path, undefined, 'own.ns', false)).toEqual([ns(null, `read() opens ${path}, a path that may climb out of its namespace`)]);
  });
});
