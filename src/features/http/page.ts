// GET /: the status page, one self-contained document (no CDN, no other request than the API it
// polls). It polls /api/v1/{broker,clients,bridges,links} every 2 s (?every=MS for another
// period, 250 at least), draws the message rates of the last 60 polls as SVG lines, and switches
// GPIO outputs and disconnects clients through the two POST endpoints. Built with DOM calls and
// textContent only: client ids and topics are never parsed as HTML. Kept terse: every byte is in
// the bundle. JSON keys are snake_case, and the script uses no camelCase name of Midge's own
// (scripts/mangle.mjs would stop shortening it).
export const PAGE_HTML = `<!doctype html>
<html lang=en><meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1"><link rel=icon href="data:,"><title>Midge</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#eef0f3;color:#222}
header{background:#234;color:#fff;padding:8px 12px;display:flex;flex-wrap:wrap;gap:4px 14px;align-items:baseline}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0 0 6px}
main{display:grid;gap:10px;padding:10px;grid-template-columns:repeat(auto-fit,minmax(290px,1fr))}
section{background:#fff;border-radius:6px;padding:10px;overflow-x:auto}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 5px;border-bottom:1px solid #eee;overflow-wrap:anywhere}button{font-size:12px;padding:2px 4px}
#sum{display:flex;gap:6px 16px;flex-wrap:wrap}#sum b{display:block;font-size:19px}
svg{width:100%;height:90px;background:#f8f9fb}#err{color:#f88}
input{width:22px;height:22px}
</style>
<header><h1>Midge</h1><span id=ver></span><span id=up></span><span id=err></span></header>
<main>
<section><h2>Broker</h2><div id=sum></div></section>
<section><h2>Messages/s <small style=color:#36c>in</small> <small style=color:#c63>out</small></h2><svg viewBox="0 0 300 90" preserveAspectRatio=none><polyline id=rin fill=none stroke=#36c stroke-width=2 /><polyline id=rout fill=none stroke=#c63 stroke-width=2 /></svg><div id=rate></div></section>
<section><h2>Clients</h2><table id=clients></table></section>
<section><h2>Bridges</h2><table id=bridges></table></section>
<section><h2>Serial links</h2><table id=serial></table></section>
<section><h2>GPIO</h2><table id=gpio></table></section>
</main>
<script>
"use strict";
const $=i=>document.getElementById(i),N=60,hin=[],hout=[],mk=t=>document.createElement(t);
let last,busy;
const fail=e=>$('err').textContent=String(e.message||e);
const ok=(p,r)=>{if(!r.ok)throw Error(p+': HTTP '+r.status);return r};
const get=p=>fetch('/api/v1/'+p,{cache:'no-store'}).then(r=>ok(p,r).json());
const send=(p,v)=>fetch('/api/v1/'+p,{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify(v)}).then(r=>ok(p,r)).then(tick,fail);
function row(t,cs,h){const tr=mk('tr');for(const c of cs){const d=mk(h?'th':'td');d.append(c);tr.append(d)}t.append(tr)}
function table(i,h,ds,f){const t=$(i),k=JSON.stringify(ds);if(t.k==k)return;t.k=k;t.replaceChildren();if(!ds.length)return row(t,['none']);row(t,h,1);for(const d of ds)row(t,f(d))}
function line(i,h,m){$(i).setAttribute('points',h.map((v,j)=>j*300/(N-1)+','+(88-v*86/m).toFixed(1)).join(' '))}
function dur(s){return(s>=86400?Math.floor(s/86400)+'d ':'')+Math.floor(s/3600)%24+'h '+Math.floor(s/60)%60+'m'}
async function tick(){
if(busy)return;busy=1;
try{
const[b,c,br,l]=await Promise.all(['broker','clients?limit=1000','bridges','links'].map(get)),m=b.messages,t=Date.now();
$('ver').textContent='v'+b.version;$('up').textContent='up '+dur(b.uptime);$('err').textContent='';
if(last){const d=(t-last[0])/1e3;hin.push(Math.max(0,(m.received-last[1])/d));hout.push(Math.max(0,(m.sent-last[2])/d));if(hin.length>N){hin.shift();hout.shift()}}
last=[t,m.received,m.sent];
const x=Math.max(1,...hin,...hout);line('rin',hin,x);line('rout',hout,x);
if(hin.length)$('rate').textContent='in '+hin.at(-1).toFixed(1)+' · out '+hout.at(-1).toFixed(1)+' · peak '+x.toFixed(1);
$('sum').replaceChildren(...[['clients',b.clients.connected],['sessions',b.clients.total],['subscriptions',b.subscriptions],['retained',b.retained],['received',m.received],['sent',m.sent],['dropped',m.dropped],['memory',(b.process.rss/1048576).toFixed(1)+' MB']].map(([k,v])=>{const d=mk('div'),e=mk('b');e.textContent=v;d.append(e,k);return d}));
table('clients',['client','protocol','from',''],c.clients.filter(k=>k.connected).map(k=>[k.id,k.protocol,k.remote]),([i,p,r])=>{let a='';if(/^MQTT( [35]|-SN UDP)/.test(p)){a=mk('button');a.textContent='✕';a.title='disconnect';a.onclick=()=>confirm('Disconnect '+i+'?')&&send('clients/'+encodeURIComponent(i)+'/disconnect',{})}return[i,p,r||'',a]});
table('bridges',['bridge','state','queued'],br.bridges.map(k=>[k.name,k.state,''+k.queued]),r=>r);
table('serial',['link','device','state','client'],l.serial.map(k=>[k.name,k.device,k.open?'open':'closed',k.client||'']),r=>r);
table('gpio',['pin','dir','topic','level'],l.gpio,k=>{let v=''+k.level;if(k.direction=='out'){v=mk('input');v.type='checkbox';v.checked=k.level==1;v.dataset.pin=k.pin;v.onchange=()=>send('gpio/'+encodeURIComponent(k.pin),{value:v.checked?1:0})}return[k.pin,k.direction,k.topic,v]});
}catch(e){fail(e)}
busy=0}
tick();setInterval(tick,Math.max(250,+new URLSearchParams(location.search).get('every')||2000));
</script>
`;
