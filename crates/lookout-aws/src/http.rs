//! The one HTTP helper of the credential links: a request's text body, or a reason that
//! names the URL (never a secret).

pub(crate) async fn fetch_text(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<String, String> {
    let response = request
        .send()
        .await
        .map_err(|error| format!("{url} unreachable ({error})"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered HTTP {status}"));
    }
    response
        .text()
        .await
        .map_err(|error| format!("{url}: {error}"))
}
