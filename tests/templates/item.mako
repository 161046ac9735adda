<p>${title}</p>
