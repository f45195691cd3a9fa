// Finds the real node's images (pause, the agnhost stand-in, dpready from the Dockerfile),
// building them on first use with test/controlplane/images.sh, which caches them by their
// inputs and takes a lock, as binaries.ts does for the control-plane binaries.
import { fileURLToPath } from 'node:url';
import { runBuildScript } from './build-script.ts';

const IMAGES_SCRIPT = fileURLToPath(new URL('../../test/controlplane/images.sh', import.meta.url));

/** The directory holding the images as docker-archives. */
export function ensureImages(binDir: string, log: (line: string) => void = () => {}): Promise<string> {
  return runBuildScript(IMAGES_SCRIPT, [binDir], "the real node's images", log);
}
