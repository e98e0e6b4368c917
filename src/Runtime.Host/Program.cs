using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
var b = WebApplication.CreateSlimBuilder(args);
var app = b.Build();
app.Run(ctx => ctx.Response.WriteAsync("hi"));
app.Run("http://127.0.0.1:5999");
