const mods = process.argv.slice(2);
for (const m of mods) await import(m);
await new Promise(r => setTimeout(r, 300));
globalThis.gc?.(); 
await new Promise(r => setTimeout(r, 100));
const u = process.memoryUsage();
console.log(mods.join('+') || 'bare', 'rss', Math.round(u.rss/1048576), 'heap', Math.round(u.heapUsed/1048576), 'heapTotal', Math.round(u.heapTotal/1048576), 'ext', Math.round(u.external/1048576));
