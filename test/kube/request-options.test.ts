import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { describeKubeError, httpStatus } from '../../src/kube/request-options.ts';

test('a client-node error becomes one line with the status and the API server\'s message', () => {
  const body = JSON.stringify({ kind: 'Status', message: 'pods "p" is forbidden: no', code: 403 });
  const err = new ApiException(403, 'HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: …\nHeaders: {…}', body, {});
  assert.equal(httpStatus(err), 403);
  assert.equal(describeKubeError(err), 'HTTP 403: pods "p" is forbidden: no');
});

test('a 404 page (not JSON) and a network error are described without header dumps', () => {
  assert.equal(describeKubeError(new ApiException(404, 'x', '404 page not found\n', {})), 'HTTP 404: 404 page not found');
  assert.equal(describeKubeError(new TypeError('fetch failed\n    at somewhere')), 'fetch failed');
  assert.equal(httpStatus(new TypeError('fetch failed')), undefined);
});
